from pathlib import Path

import pytest

from server.settings import VARIABLES, SettingsError, load_settings, settings_table


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    s = load_settings({"DOCMAN_DATA_DIR": str(tmp_path)})
    assert (s.server.host, s.server.port) == ("127.0.0.1", 8000)
    assert s.database.url is None
    assert s.storage.backend == "local"
    assert s.storage.local_dir == tmp_path.resolve() / "files"
    assert s.index.dir == tmp_path.resolve() / "index"
    assert s.embedding.backend == "local" and s.embedding.dim == 384
    assert s.llm.configured is False
    assert s.ingest.max_upload_bytes == 100 * 1024 * 1024


def test_default_data_dir_is_dot_data() -> None:
    assert load_settings({}).data_dir == (Path.cwd() / "data").resolve()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOCMAN_PORT", "eighty"),
        ("DOCMAN_PORT", "70000"),
        ("DOCMAN_DB_POOL_MAX", "0"),
        ("DOCMAN_LOG_JSON", "maybe"),
        ("DOCMAN_STORAGE_BACKEND", "ftp"),
        ("DOCMAN_MAX_UPLOAD_BYTES", "lots"),
        ("DOCMAN_DATABASE_URL", "mysql://x"),
        ("DOCMAN_LOG_LEVEL", "loud"),
    ],
)
def test_invalid_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    assert err.value.variable == name
    assert name in str(err.value)
    assert repr(value) in str(err.value)


def test_cross_field_rules() -> None:
    with pytest.raises(SettingsError, match="DOCMAN_DB_POOL_MIN"):
        load_settings({"DOCMAN_DB_POOL_MIN": "5", "DOCMAN_DB_POOL_MAX": "2"})
    with pytest.raises(SettingsError, match="DOCMAN_S3_ACCESS_KEY"):
        load_settings({"DOCMAN_STORAGE_BACKEND": "s3"})
    with pytest.raises(SettingsError, match="DOCMAN_EMBEDDING_BASE_URL"):
        load_settings({"DOCMAN_EMBEDDING_BACKEND": "openai"})


def test_sizes_and_lists_parse() -> None:
    s = load_settings({"DOCMAN_MAX_UPLOAD_BYTES": "5M", "DOCMAN_CORS_ORIGINS": "https://a.example, https://b.example"})
    assert s.ingest.max_upload_bytes == 5 * 1024 * 1024
    assert s.server.cors_origins == ("https://a.example", "https://b.example")


def test_table_lists_every_variable() -> None:
    table = settings_table()
    for var in VARIABLES:
        assert f"`{var.name}`" in table


def test_docs_settings_page_is_current() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    assert settings_table() in page, "docs/settings.md is stale: regenerate it with `docman settings`"
