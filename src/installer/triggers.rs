//! The pure part: a repository's trigger list with ours added, replaced or
//! removed, every other trigger kept exactly as it was.

use aws_sdk_codecommit::types::RepositoryTrigger;

/// CodeCommit's limit of triggers per repository.
pub const MAX_TRIGGERS: usize = 10;

/// The list with `ours` in place of any trigger of the same name, or
/// appended; `None` when the others already fill the repository.
pub fn with_trigger(
    existing: &[RepositoryTrigger],
    ours: RepositoryTrigger,
) -> Option<Vec<RepositoryTrigger>> {
    let mut triggers: Vec<_> = existing
        .iter()
        .filter(|t| t.name() != ours.name())
        .cloned()
        .collect();
    if triggers.len() >= MAX_TRIGGERS {
        return None;
    }
    match existing.iter().position(|t| t.name() == ours.name()) {
        Some(position) => triggers.insert(position, ours),
        None => triggers.push(ours),
    }
    Some(triggers)
}

/// Whether `existing` is the trigger `ours` describes, as an earlier request wrote it: the
/// same name, and the same `CustomData` (the template's marks the stack that wrote it) or the
/// same destination. A trigger of the same name that someone else wrote is not replaced or
/// removed.
pub fn is_ours(existing: &RepositoryTrigger, ours: &RepositoryTrigger) -> bool {
    existing.name() == ours.name()
        && (existing.custom_data() == ours.custom_data()
            || existing.destination_arn() == ours.destination_arn())
}

/// The list without the trigger named `name`; `None` when it is not there.
pub fn without_trigger(
    existing: &[RepositoryTrigger],
    name: &str,
) -> Option<Vec<RepositoryTrigger>> {
    existing.iter().any(|t| t.name() == name).then(|| {
        existing
            .iter()
            .filter(|t| t.name() != name)
            .cloned()
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codecommit::types::RepositoryTriggerEventEnum;

    fn trigger(name: &str, destination: &str) -> RepositoryTrigger {
        RepositoryTrigger::builder()
            .name(name)
            .destination_arn(destination)
            .events(RepositoryTriggerEventEnum::All)
            .build()
            .expect("complete trigger")
    }

    fn names(triggers: &[RepositoryTrigger]) -> Vec<&str> {
        triggers.iter().map(RepositoryTrigger::name).collect()
    }

    #[test]
    fn ours_is_appended_or_replaced_in_place() {
        let existing = [
            trigger("a", "arn:1"),
            trigger("ours", "arn:old"),
            trigger("b", "arn:2"),
        ];
        let updated = with_trigger(&existing, trigger("ours", "arn:new")).expect("room");
        assert_eq!(names(&updated), ["a", "ours", "b"]);
        assert_eq!(updated[1].destination_arn(), "arn:new");
        assert_eq!(updated[0], existing[0]);
        let added = with_trigger(&existing[..1], trigger("ours", "arn:new")).expect("room");
        assert_eq!(names(&added), ["a", "ours"]);
    }

    #[test]
    fn ten_other_triggers_leave_no_room_but_replacing_ours_does() {
        let full: Vec<_> = (0..10)
            .map(|i| trigger(&format!("t{i}"), "arn:x"))
            .collect();
        assert_eq!(with_trigger(&full, trigger("ours", "arn:new")), None);
        let mut nine_and_ours: Vec<_> = full[..9].to_vec();
        nine_and_ours.push(trigger("ours", "arn:old"));
        assert_eq!(
            with_trigger(&nine_and_ours, trigger("ours", "arn:new")).map(|t| t.len()),
            Some(10)
        );
    }

    #[test]
    fn a_trigger_of_the_same_name_is_ours_by_its_custom_data_or_destination() {
        let marked = |destination: &str, data: &str| {
            RepositoryTrigger::builder()
                .name("ours")
                .destination_arn(destination)
                .custom_data(data)
                .events(RepositoryTriggerEventEnum::All)
                .build()
                .expect("complete trigger")
        };
        let ours = marked("arn:new", "installed by stack s");
        assert!(is_ours(&marked("arn:old", "installed by stack s"), &ours));
        assert!(is_ours(&marked("arn:new", "edited by hand"), &ours));
        assert!(!is_ours(&marked("arn:theirs", "someone else's"), &ours));
        assert!(!is_ours(&trigger("other", "arn:new"), &ours));
    }

    #[test]
    fn removal_keeps_the_others() {
        let existing = [trigger("a", "arn:1"), trigger("ours", "arn:2")];
        assert_eq!(
            without_trigger(&existing, "ours").as_deref(),
            Some(&existing[..1])
        );
        assert_eq!(without_trigger(&existing, "missing"), None);
    }
}
