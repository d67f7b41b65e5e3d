"""Item 4 of issue 16 (k8s): a failed release Job can be retried with `pulumi up`.

pulumi-kubernetes keeps a Job that failed in the state; the next `up` with the same image finds no diff and the
seed never runs again. With `pulumi.com/replaceUnready: "true"` its Diff reads the live Job and, when it is not
ready (failed), replaces it (`provider/pkg/provider/provider.go`, Diff: metadata.ReplaceUnready, Job only), deleting
first because the Job has an explicit name (same Diff: deleteBeforeReplace when the object is not auto-named).
"""

from __future__ import annotations

from offline import plan as offline_plan
from offline import types as t


def test_the_release_job_is_replaced_when_the_last_one_failed():
    (job,) = [r for r in offline_plan.run("k8s").resources if r.type == t.JOB and r.name.endswith("-release")]
    metadata = offline_plan.reveal(job.inputs)["metadata"]
    assert metadata["annotations"]["pulumi.com/replaceUnready"] == "true"
    assert metadata["name"].startswith("paasport-release-")  # named: the provider deletes before it recreates
