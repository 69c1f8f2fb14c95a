//! A local IAM endpoint for what moto lacks: `SimulatePrincipalPolicy` (and `GetRole`, so one
//! endpoint holds the roles), over IAM's query protocol (form-encoded requests, XML answers),
//! with the service's errors (`NoSuchEntity` with status 404, `InvalidInput`, `AccessDenied`).
//!
//! A role holds the statements a test gives it. The simulation evaluates them as IAM does for
//! `Allow` and `Deny` statements naming `Action` and `Resource` (wildcards `*` and `?`, actions
//! case-insensitively): an explicit deny wins, then an allow; otherwise `implicitDeny`. A
//! statement with a `Condition`, `NotAction` or `NotResource` never matches here (the doctor's
//! tests need none).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::http::{self, HttpResponse};

const ACCOUNT: &str = "123456789012";
const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

#[derive(Default)]
struct State {
    /// Role name -> (path, statements).
    roles: Mutex<BTreeMap<String, (String, Vec<Value>)>>,
    denied: Mutex<HashSet<String>>,
}

/// The running endpoint; it stops on drop.
pub struct LocalIam {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl LocalIam {
    /// Start the endpoint on `127.0.0.1:<free port>`, with no roles.
    pub async fn start() -> LocalIam {
        let (listener, addr) = http::bind_local("local IAM endpoint").await;
        let state = Arc::new(State::default());
        let handler_state = Arc::clone(&state);
        let server = http::serve(listener, move |request| {
            answer(Arc::clone(&handler_state), request)
        });
        LocalIam {
            addr,
            state,
            server,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT` (what `AWS_ENDPOINT_URL_IAM` gets).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Create (or replace) role `name` under `path` (e.g. `/service-role/`) whose policies hold
    /// `statements`; returns its ARN.
    pub fn add_role(&self, path: &str, name: &str, statements: Vec<Value>) -> String {
        self.state
            .roles
            .lock()
            .expect("local IAM roles poisoned")
            .insert(name.to_owned(), (path.to_owned(), statements));
        role_arn(path, name)
    }

    /// Answer every later call of `operation` with `AccessDenied`.
    pub fn deny(&self, operation: &str) {
        self.state
            .denied
            .lock()
            .expect("local IAM deny list poisoned")
            .insert(operation.to_owned());
    }
}

impl Drop for LocalIam {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn role_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role{path}{name}")
}

/// The form fields of a query-protocol body, decoded.
fn form(body: &str) -> HashMap<String, String> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                        Some(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// `Prefix.member.1`, `Prefix.member.2`, ... of `fields`, in order.
fn members(fields: &HashMap<String, String>, prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|n| fields.get(&format!("{prefix}.member.{n}")).cloned())
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml(status: StatusCode, body: String) -> HttpResponse {
    http::response(status, "text/xml", body)
}

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{}</Message></Error><RequestId>local-iam</RequestId></ErrorResponse>",
            escape(message)
        ),
    )
}

fn result(action: &str, inner: &str) -> HttpResponse {
    xml(
        StatusCode::OK,
        format!(
            "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{inner}</{action}Result>\
             <ResponseMetadata><RequestId>local-iam</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

async fn answer(state: Arc<State>, request: Request<Incoming>) -> HttpResponse {
    let body = match request.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(err) => return error(StatusCode::BAD_REQUEST, "MalformedInput", &err.to_string()),
    };
    let fields = form(&body);
    let action = fields.get("Action").cloned().unwrap_or_default();
    let denied = state
        .denied
        .lock()
        .expect("local IAM deny list poisoned")
        .contains(&action);
    if denied {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("User: arn:aws:iam::{ACCOUNT}:user/operator is not authorized to perform: iam:{action}"),
        );
    }
    let roles = state
        .roles
        .lock()
        .expect("local IAM roles poisoned")
        .clone();
    match action.as_str() {
        "GetRole" => get_role(&roles, &fields),
        "SimulatePrincipalPolicy" => simulate(&roles, &fields),
        other => error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("the local IAM endpoint does not implement {other:?}"),
        ),
    }
}

type Roles = BTreeMap<String, (String, Vec<Value>)>;

fn get_role(roles: &Roles, fields: &HashMap<String, String>) -> HttpResponse {
    let name = fields.get("RoleName").cloned().unwrap_or_default();
    let Some((path, _)) = roles.get(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            &format!("The role with name {name} cannot be found."),
        );
    };
    result(
        "GetRole",
        &format!(
            "<Role><Path>{}</Path><Arn>{}</Arn><RoleName>{}</RoleName>\
             <AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument>\
             <CreateDate>2026-01-01T00:00:00Z</CreateDate><RoleId>AROA{:016}</RoleId></Role>",
            escape(path),
            escape(&role_arn(path, &name)),
            escape(&name),
            name.len()
        ),
    )
}

/// Whether `pattern` (`*` any run, `?` one character) matches `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// `allowed`, `explicitDeny` or `implicitDeny` for `action` on `resource` under `statements`.
fn decide(statements: &[Value], action: &str, resource: &str) -> &'static str {
    let matching = |effect: &str| {
        statements.iter().any(|statement| {
            statement["Effect"] == effect
                && statement.get("Condition").is_none()
                && strings(&statement["Action"]).iter().any(|pattern| {
                    glob(
                        pattern.to_lowercase().as_bytes(),
                        action.to_lowercase().as_bytes(),
                    )
                })
                && strings(&statement["Resource"])
                    .iter()
                    .any(|pattern| glob(pattern.as_bytes(), resource.as_bytes()))
        })
    };
    if matching("Deny") {
        "explicitDeny"
    } else if matching("Allow") {
        "allowed"
    } else {
        "implicitDeny"
    }
}

fn simulate(roles: &Roles, fields: &HashMap<String, String>) -> HttpResponse {
    let source = fields.get("PolicySourceArn").cloned().unwrap_or_default();
    let Some((_, statements)) = roles
        .iter()
        .find(|(name, (path, _))| role_arn(path, name) == source)
        .map(|(_, role)| role)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            &format!("The principal {source} cannot be found."),
        );
    };
    let actions = members(fields, "ActionNames");
    if actions.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
        );
    }
    let mut resources = members(fields, "ResourceArns");
    if resources.is_empty() {
        resources.push("*".to_owned());
    }
    let results: String = actions
        .iter()
        .flat_map(|action| resources.iter().map(move |resource| (action, resource)))
        .map(|(action, resource)| {
            format!(
                "<member><EvalActionName>{}</EvalActionName><EvalResourceName>{}</EvalResourceName>\
                 <EvalDecision>{}</EvalDecision><MatchedStatements/><MissingContextValues/></member>",
                escape(action),
                escape(resource),
                decide(statements, action, resource)
            )
        })
        .collect();
    result(
        "SimulatePrincipalPolicy",
        &format!(
            "<IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statements_decide_as_iam_does() {
        let repo = "arn:aws:codecommit:us-east-1:123456789012:my-app";
        let allow = json!({"Effect": "Allow", "Action": ["codecommit:Git*"], "Resource": repo});
        assert_eq!(
            decide(std::slice::from_ref(&allow), "codecommit:GitPull", repo),
            "allowed"
        );
        assert_eq!(
            decide(std::slice::from_ref(&allow), "CodeCommit:gitpull", repo),
            "allowed"
        );
        assert_eq!(
            decide(
                std::slice::from_ref(&allow),
                "codecommit:GitPull",
                &format!("{repo}2")
            ),
            "implicitDeny"
        );
        let deny = json!({"Effect": "Deny", "Action": "*", "Resource": "*"});
        assert_eq!(
            decide(&[allow, deny], "codecommit:GitPull", repo),
            "explicitDeny"
        );
        assert_eq!(decide(&[], "codecommit:GitPull", repo), "implicitDeny");
    }

    #[test]
    fn forms_decode() {
        let fields =
            form("Action=SimulatePrincipalPolicy&ActionNames.member.1=codecommit%3AGitPull&X=a+b");
        assert_eq!(members(&fields, "ActionNames"), ["codecommit:GitPull"]);
        assert_eq!(fields["X"], "a b");
    }
}
