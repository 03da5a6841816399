"""The dbt project the warehouse assets are built from."""

from __future__ import annotations

from functools import cache

from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import DBT_PROJECT_DIR, dbt_executable


def _parse(project: DbtProject) -> None:
    DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
        ["parse", "--quiet"], target_path=project.target_path
    ).wait()


@cache
def dbt_project() -> DbtProject:
    """The dbt project, its manifest prepared by `make manifest` (or by `dagster dev`).

    Under `dagster dev` the manifest is re-parsed on load, as dagster-dbt's
    ``prepare_if_dev`` does, but with the dbt of this Python's environment: that one
    looks ``dbt`` up on PATH, which lacks it unless the environment is activated.
    """
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if project.preparer.using_dagster_dev():
        run_with_concurrent_update_guard(project.manifest_path, _parse, project=project)
    return project
