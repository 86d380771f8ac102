from pathlib import Path

from vaccine.proxy.paths import SHIPPED_TERMS, resolve, terms_dir


def test_a_lists_folder_without_terms_gets_the_shipped_ones(tmp_path: Path) -> None:
    assert SHIPPED_TERMS.is_dir() and (SHIPPED_TERMS / "self_harm.txt").is_file()
    assert terms_dir(tmp_path) == SHIPPED_TERMS
    (tmp_path / "terms").mkdir()
    assert terms_dir(tmp_path) == tmp_path / "terms"  # its own win, even when empty


def test_relative_settings_paths_are_relative_to_the_household(tmp_path: Path) -> None:
    assert resolve(tmp_path, "var/vaccine.db") == tmp_path / "var/vaccine.db"
    assert resolve(tmp_path, "/srv/v.db") == Path("/srv/v.db")
