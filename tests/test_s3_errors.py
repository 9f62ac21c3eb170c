"""S3 settings and errors: s3fs conventions, one clear StorageError per failure, no leaked secrets.

A missing bucket, refused credentials and an unreachable endpoint must each
end in one StorageError naming the root, never in "output missing" (which
would trigger rebuilds).  Credentials never appear in stored objects, task
keys, logs or error messages.  The last tests are unit tests of the error
paths with a stubbed ``find`` (the only mocks in the S3 tests).
"""

from __future__ import annotations

import logging
import uuid

import pytest

import daskflow
import servers
from daskflow import config
from daskflow.plan import Plan
from daskflow.storage import Store
from test_storage_conformance import FLOW, load_module


@pytest.fixture
def flow(tmp_path):
    return load_module(tmp_path / "mods", FLOW)


def _fresh_s3fs_instances():
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def test_aws_variables_and_daskflow_root_configure_s3(s3_server, flow, monkeypatch):
    """No storage_options: DASKFLOW_ROOT plus AWS_ENDPOINT_URL and the AWS_* keys, as s3fs users expect."""
    prefix = f"{s3_server.bucket}/env-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(config.settings, "root", None)
    monkeypatch.setattr(config.settings, "storage_options", {})
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DASKFLOW_ROOT", f"s3://{prefix}")
    _fresh_s3fs_instances()
    try:
        assert len(daskflow.run(flow.Report(), scheduler="sync").ran) == 4
        assert daskflow.run(flow.Report(), scheduler="sync").ran == []
        assert flow.Report().outputLoad() == {"total": 30}
        fs = Store(f"s3://{prefix}").fs
        assert sum("._commit." in p for p in fs.find(prefix)) == 4
        fs.rm(prefix, recursive=True)
    finally:
        _fresh_s3fs_instances()


def _all_entry_points(flow):
    """Every public way of asking about a task; each must raise StorageError."""
    return {
        "complete": lambda: flow.Train().complete(),
        "output": lambda: flow.Train().output(),
        "preview": lambda: daskflow.preview(flow.Train()),
        "why": lambda: daskflow.why(flow.Train()),
        "run": lambda: daskflow.run(flow.Train(), scheduler="sync"),
    }


def _assert_one_clear_error(flow, url, words, secrets, capsys):
    for name, call in _all_entry_points(flow).items():
        with pytest.raises(daskflow.StorageError) as err:
            call()
        text = str(err.value)
        assert url in text, (name, text)
        assert any(w in text for w in words), (name, text)
        assert "no output" not in text and not isinstance(err.value, daskflow.RunError)
        for secret in secrets:
            assert secret not in text and secret not in repr(err.value)
    assert not any(s in capsys.readouterr().out for s in secrets)


def test_missing_bucket_is_one_clear_error(s3_server, flow, capsys):
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/project"
    daskflow.set_root(url, **s3_server.storage_options())
    _assert_one_clear_error(flow, url, ["does not exist"], [s3_server.secret, s3_server.key], capsys)


def test_listing_the_families_of_a_root_tells_empty_from_missing_bucket(s3_server):
    empty = Store(f"s3://{s3_server.bucket}/empty-{uuid.uuid4().hex[:8]}", s3_server.storage_options())
    assert empty.list_families() == []
    missing = Store(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/p", s3_server.storage_options())
    with pytest.raises(daskflow.StorageError) as err:
        missing.list_families()
    assert missing.display in str(err.value) and "does not exist" in str(err.value)


def test_wrong_credentials_are_one_clear_error(s3_server, flow, capsys):
    if s3_server.kind == "moto":
        pytest.skip("moto accepts any credentials")
    url = f"s3://{s3_server.bucket}/project"
    wrong_secret = "wrong-secret-" + uuid.uuid4().hex
    daskflow.set_root(url, **s3_server.storage_options(secret=wrong_secret))
    _assert_one_clear_error(flow, url, ["access denied"], [wrong_secret, s3_server.secret], capsys)
    daskflow.set_root(url, **s3_server.storage_options(key="nobody-" + uuid.uuid4().hex[:6]))
    _assert_one_clear_error(flow, url, ["access denied"], [s3_server.secret], capsys)


def test_unreachable_endpoint_is_one_clear_error(flow, capsys):
    (port,) = servers.free_ports(1)  # nothing listens there
    url = "s3://bucket/project"
    secret = "unreachable-secret-" + uuid.uuid4().hex
    daskflow.set_root(url, key="some-key", secret=secret,
                      client_kwargs={"endpoint_url": f"http://127.0.0.1:{port}"},
                      config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 1})
    with pytest.raises(daskflow.StorageError) as err:
        flow.Train().complete()
    text = str(err.value)
    assert url in text and "endpoint unreachable" in text and secret not in text
    with pytest.raises(daskflow.StorageError):
        daskflow.run(flow.Train(), scheduler="sync")


def test_credentials_never_stored_logged_or_in_keys(s3root, flow, caplog):
    caplog.set_level(logging.DEBUG, logger="daskflow")
    daskflow.run([flow.Report(), flow.Multi()], scheduler="sync")
    secrets = [s3root.options["key"], s3root.options["secret"]]
    stored = s3root.fs.find(s3root.prefix)
    assert any("._commit." in p for p in stored) and any(p.endswith("_meta.json") for p in stored)
    for path in stored:
        data = s3root.fs.cat_file(path)
        for secret in secrets:
            assert secret.encode() not in data, path
            assert secret not in path[len(s3root.prefix):]  # (CI's key may be the bucket's name)
    plan = Plan([flow.Report(), flow.Multi()])
    for node in plan.nodes.values():
        assert not any(s in node.key for s in secrets)
    text = caplog.text + repr(plan.store) + plan.store.display
    text = text.replace(s3root.prefix, "<root>")  # (CI's key may be the bucket's name)
    assert "<root>" in text and not any(s in text for s in secrets)


# -- unit tests of the error paths: only "not found" is missing ------------------------------------
def _stub_find(monkeypatch, store, exc):
    def find(*args, **kwargs):
        raise exc

    monkeypatch.setattr(store.fs, "find", find)


@pytest.mark.parametrize("exc", [PermissionError("Access Denied"), ConnectionError("reset"),
                                 TimeoutError("slow"), RuntimeError("boom")])
def test_listing_failure_is_never_missing(monkeypatch, exc):
    store = Store(f"memory://unit-{uuid.uuid4().hex[:6]}")
    _stub_find(monkeypatch, store, exc)
    with pytest.raises(daskflow.StorageError) as err:
        store.list_family("Train")
    assert store.display in str(err.value) and type(exc).__name__ in str(err.value)


def test_not_found_is_missing_on_a_folder_but_a_missing_bucket_on_s3(monkeypatch):
    folder = Store(f"memory://unit-{uuid.uuid4().hex[:6]}")
    _stub_find(monkeypatch, folder, FileNotFoundError("gone"))
    assert folder.list_family("Train") == {} and folder.list_task("Train", "_x") == []
    s3 = Store("s3://unit-bucket/p", {"key": "k1234", "secret": "s-unit-secret",
                                      "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}})
    _stub_find(monkeypatch, s3, FileNotFoundError("The specified bucket does not exist"))
    with pytest.raises(daskflow.StorageError) as err:
        s3.list_family("Train")
    assert "s3://unit-bucket/p" in str(err.value) and "'unit-bucket' does not exist" in str(err.value)


def test_messages_scrub_secrets_from_options_and_environment(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value")
    store = Store("s3://b/p", {"key": "AKIAEXAMPLE", "secret": "opt-secret-value",
                               "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}})
    _stub_find(monkeypatch, store, PermissionError("denied for AKIAEXAMPLE with opt-secret-value "
                                                   "and env-secret-value"))
    with pytest.raises(daskflow.StorageError) as err:
        store.list_task("Train", "_x")
    text = str(err.value)
    assert "AKIAEXAMPLE" not in text and "opt-secret-value" not in text and "env-secret-value" not in text
    assert "***" in text and "access denied" in text
