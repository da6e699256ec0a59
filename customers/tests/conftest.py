import pytest


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Uploaded files and reject reports go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
