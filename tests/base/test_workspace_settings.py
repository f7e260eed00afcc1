"""The workspace's remembered settings: defaults when missing or damaged, atomic writes, one file for all sessions."""
from core.base.workspace_settings import WorkspaceSettings, read_settings, settings_path, update_settings


def test_a_new_workspace_reads_the_defaults(workspace):
    assert read_settings(workspace) == WorkspaceSettings(start_here_dismissed=False)
    assert not settings_path(workspace).exists()  # reading writes nothing


def test_a_change_is_written_and_read_back(workspace):
    assert update_settings(workspace, start_here_dismissed=True).start_here_dismissed
    assert read_settings(workspace).start_here_dismissed
    assert [p.name for p in workspace.root.iterdir() if p.name.startswith(".settings")] == []  # no temp file left


def test_a_damaged_or_foreign_file_reads_as_the_defaults(workspace):
    path = settings_path(workspace)
    for text in ('{"start_here_dismissed": tru', "[1, 2]", '{"start_here_dismissed": "yes"}', '{"other": 1}'):
        path.write_text(text)
        assert read_settings(workspace) == WorkspaceSettings()
    # An unknown key written by a newer dashboard does not hide the known ones.
    path.write_text('{"start_here_dismissed": true, "later_setting": 3}')
    assert read_settings(workspace).start_here_dismissed
