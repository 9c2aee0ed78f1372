"""An MCP tool as the model sees it: its name, and its result as text."""

from __future__ import annotations

import base64
import re

from mcp import types

from taskline.tools.mcp.tool import model_names, result_text

PROVIDER_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_names_are_server_and_tool_joined_by_two_underscores() -> None:
    assert model_names("git", ["git_status", "git-diff"]) == {
        "git_status": "git__git_status",
        "git-diff": "git__git-diff",
    }


def test_characters_the_providers_refuse_become_underscores() -> None:
    assert model_names("fs", ["files.read", "files/write", "ünïcode"]) == {
        "files.read": "fs__files_read",
        "files/write": "fs__files_write",
        "ünïcode": "fs___n_code",
    }


def test_names_that_would_clash_or_overflow_end_with_a_hash_of_the_tool() -> None:
    names = model_names("s" * 32, ["a.b", "a_b", "t" * 128])
    assert names == {
        "a.b": "s" * 32 + "__a_b",
        "a_b": "s" * 32 + "__a_b_648fa9b3",
        "t" * 128: "s" * 32 + "__" + "t" * 21 + "_9fc73bfd",
    }
    assert all(PROVIDER_RULE.match(name) for name in names.values())
    assert len(set(names.values())) == 3


def test_a_result_is_its_text_with_a_note_for_each_other_part() -> None:
    png = base64.b64encode(b"\x89PNG" + bytes(96)).decode()
    result = types.CallToolResult(
        content=[
            types.TextContent(text="first"),
            types.ImageContent(data=png, mime_type="image/png"),
            types.ResourceLink(uri="file:///r.txt", name="r"),
            types.EmbeddedResource(
                resource=types.TextResourceContents(uri="file:///e.txt", text="embedded")
            ),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(
                    uri="file:///b.bin", blob=base64.b64encode(b"abc").decode(), mime_type="x/y"
                )
            ),
        ]
    )
    assert result_text(result) == (
        "first\n[image image/png, 100 bytes]\n[resource file:///r.txt]\nembedded\n"
        "[resource file:///b.bin, x/y, 3 bytes]"
    )


def test_a_result_with_only_structured_content_is_its_json() -> None:
    result = types.CallToolResult(content=[], structured_content={"answer": 42})
    assert result_text(result) == '{"answer": 42}'
