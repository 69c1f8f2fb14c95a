"""The static-site example (examples/static-site): Pelican builds its site offline, and
publish.py publishes it to a bucket of moto's S3 server, as the build does to S3; its template
grants nothing on `*` (cfn-lint checks it in `make lint` and `make test`).

Run by `make test` (tools/test), with moto's server from the venv (MOTO_SERVER).
"""

import contextlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "static-site"
sys.path.insert(0, str(EXAMPLE))

import publish  # noqa: E402  (the example's own script, as its buildspec runs it)

REGION = "us-east-1"
BUCKET = "example-site"
PAGES = {"index.html", "about", "contact", "posts/hello-world", "posts/how-it-is-published"}


def free_port():
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's server, started as the other tests start it; its endpoint."""
    server = os.environ.get("MOTO_SERVER") or shutil.which("moto_server")
    assert server, "set MOTO_SERVER (make test does) or put moto_server on the PATH"
    port = free_port()
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A client of moto's S3, and the build's environment pointing at it; a fresh bucket."""
    for name, value in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", region_name=REGION, endpoint_url=s3_endpoint)
    for bucket in client.list_buckets().get("Buckets", []):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                client.delete_object(Bucket=bucket["Name"], Key=entry["Key"])
        client.delete_bucket(Bucket=bucket["Name"])
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def site(tmp_path):
    """The example site, built by Pelican as the buildspec builds it (offline)."""
    source = tmp_path / "source"
    shutil.copytree(EXAMPLE / "site", source)
    output = tmp_path / "output"
    subprocess.run([sys.executable, "-m", "pelican", "content", "-s", "pelicanconf.py",
                    "-o", str(output), "--fatal", "warnings"],
                   cwd=source, check=True, capture_output=True, timeout=120)
    return output


def objects(s3):
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for entry in page.get("Contents", []):
            head = s3.head_object(Bucket=BUCKET, Key=entry["Key"])
            found[entry["Key"]] = (head["ContentType"], head.get("CacheControl"))
    return found


def test_pelican_builds_the_example_site_offline(site):
    files = {path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()}
    assert files == {"index.html", "about.html", "contact.html", "posts/hello-world.html",
                     "posts/how-it-is-published.html", "theme/css/site.css"}
    index = (site / "index.html").read_text()
    assert 'href="/posts/hello-world"' in index, "links are extensionless"
    assert 'href="/about"' in index


def test_the_site_is_published_with_extensionless_pages_types_and_cache_headers(s3, site):
    assert publish.main([str(site), "--bucket", BUCKET]) == 0
    stored = objects(s3)
    assert set(stored) == PAGES | {"theme/css/site.css"}
    for page in PAGES:
        assert stored[page] == ("text/html; charset=utf-8", "public, max-age=300"), page
    assert stored["theme/css/site.css"] == ("text/css; charset=utf-8", "public, max-age=86400")
    body = s3.get_object(Bucket=BUCKET, Key="about")["Body"].read()
    assert body == (site / "about.html").read_bytes()


def test_a_second_run_uploads_only_what_changed_and_deletes_what_is_gone(s3, site, capsys):
    first = publish.publish(site, BUCKET, REGION)
    assert len(first.uploaded) == 6 and first.deleted == [] and first.unchanged == 0
    again = publish.publish(site, BUCKET, REGION)
    assert (again.uploaded, again.deleted, again.unchanged) == ([], [], 6), "nothing changed"

    (site / "contact.html").unlink()
    (site / "about.html").write_text("<p>About, rewritten</p>")
    changed = publish.publish(site, BUCKET, REGION)
    assert (changed.uploaded, changed.deleted, changed.unchanged) == (["about"], ["contact"], 4)
    assert "contact" not in objects(s3)
    assert s3.get_object(Bucket=BUCKET, Key="about")["Body"].read() == b"<p>About, rewritten</p>"

    assert publish.main([str(site), "--bucket", BUCKET]) == 0
    assert capsys.readouterr().out.strip().endswith(
        f"publish: s3://{BUCKET}: uploaded 0, deleted 0, unchanged 5")


def test_fingerprinted_files_are_cached_for_a_year_and_others_get_their_type(s3, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<h1>Home</h1>")
    (tmp_path / "assets" / "app.3f2a9c1e.js").write_text("console.log(1)")
    (tmp_path / "assets" / "logo-5d41402abc4b2a76.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "assets" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "feed.xml").write_text("<feed/>")
    (tmp_path / "blob").write_bytes(b"\x00")
    publish.publish(tmp_path, BUCKET, REGION)
    stored = objects(s3)
    assert stored["index.html"] == ("text/html; charset=utf-8", "public, max-age=300")
    assert stored["assets/app.3f2a9c1e.js"][1] == "public, max-age=31536000, immutable"
    assert stored["assets/app.3f2a9c1e.js"][0] in ("text/javascript; charset=utf-8",
                                                   "application/javascript; charset=utf-8")
    assert stored["assets/logo-5d41402abc4b2a76.png"] == ("image/png",
                                                          "public, max-age=31536000, immutable")
    assert stored["assets/photo.jpg"] == ("image/jpeg", "public, max-age=86400")
    assert stored["feed.xml"][0] in ("application/xml; charset=utf-8", "text/xml; charset=utf-8")
    assert stored["blob"] == ("application/octet-stream", "public, max-age=86400")


def test_a_bucket_in_another_region_fails_naming_both_regions(s3, site, capsys):
    s3.create_bucket(Bucket="site-in-ireland",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert publish.main([str(site), "--bucket", "site-in-ireland"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        "publish: bucket site-in-ireland is in eu-west-1, but this build runs in us-east-1: "), error
    assert s3.list_objects_v2(Bucket="site-in-ireland").get("KeyCount", 0) == 0, "nothing uploaded"


def test_a_missing_bucket_and_a_missing_site_are_named(s3, tmp_path, capsys):
    assert publish.main([str(tmp_path), "--bucket", "no-such-bucket"]) == 1
    assert "bucket no-such-bucket does not exist" in capsys.readouterr().err
    assert publish.main([str(tmp_path / "output"), "--bucket", BUCKET]) == 1
    assert "is not a folder: build the site first" in capsys.readouterr().err


def test_a_page_and_a_file_of_the_same_key_are_refused(tmp_path):
    (tmp_path / "about.html").write_text("page")
    (tmp_path / "about").write_text("file")
    with pytest.raises(publish.PublishError, match="two files would be stored under one key: about"):
        publish.plan(tmp_path)


TEMPLATE = cfn_yaml.load(str(EXAMPLE / "template.yaml"))


def statements(role):
    for policy in role["Properties"].get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def test_the_build_role_may_do_exactly_what_the_build_does_on_its_own_resources():
    roles = {name: r for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    granted = {}
    for name, role in roles.items():
        for statement in statements(role):
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            assert "*" not in json.dumps(resources).replace("/*\"", "\""), (name, statement)
            for action in ([statement["Action"]] if isinstance(statement["Action"], str)
                           else statement["Action"]):
                granted[action] = resources
    assert set(granted) == {"codecommit:GitPull", "s3:ListBucket", "s3:PutObject",
                            "s3:DeleteObject", "logs:CreateLogStream", "logs:PutLogEvents"}
    assert granted["s3:ListBucket"] == [{"Fn::GetAtt": ["SiteBucket", "Arn"]}]
    assert granted["s3:PutObject"] == [{"Fn::Sub": "${SiteBucket.Arn}/*"}]
    project = TEMPLATE["Resources"]["SiteProject"]["Properties"]
    assert project["Artifacts"] == {"Type": "NO_ARTIFACTS"}
    assert project["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": "BuildLogGroup"}


def test_the_function_is_installed_on_the_repositorys_master_branch_with_the_sites_project():
    builds = TEMPLATE["Resources"]["Builds"]
    assert builds["Type"] == "AWS::Serverless::Application"
    assert builds["Properties"]["Location"] == "../../template.yaml"
    parameters = builds["Properties"]["Parameters"]
    assert parameters["ProjectName"] == {"Ref": "SiteProject"}
    assert parameters["BranchPatterns"] == {"Ref": "BranchName"}
    assert TEMPLATE["Parameters"]["BranchName"]["Default"] == "master"
