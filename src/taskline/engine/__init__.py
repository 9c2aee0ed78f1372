"""Executing a task: the run loop, its limits, review and artifacts (its metrics are the store's,
measured in the transaction of its last move).

artifacts  snapshot a workspace, diff two snapshots, show a change as a text diff
blobs      the content-addressed store that keeps files' contents
copies     a task's copy of its workspace (`--copy`): a git worktree or a plain copy
apply      writing a copy's work back into the workspace, refusing files changed meanwhile
"""
