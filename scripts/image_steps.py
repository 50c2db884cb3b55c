"""The container image's steps, read from the Dockerfile and .dockerignore, for checks
that cannot run Docker (no engine on CI's machines).

One reading, two users, so the image and its checks cannot drift apart:
* scripts/check-wheel builds the wheel from the build context .dockerignore leaves
  (`context`), and performs the runtime stage with its ENV, USER, WORKDIR, VOLUMEs,
  install step, ENTRYPOINT, CMD and HEALTHCHECK (`shell`), the image's own paths
  (/opt/medic, /data, /tmp) moved under a temporary directory;
* tests/deploy/test_image.py checks the Dockerfile's properties on the same parse.

Only what Medic's Dockerfile uses is understood: stages, line continuations, comment
lines, global ARGs in FROM, `ENV k=v …`, JSON (exec) form, leading `--flag=value`
options, and .dockerignore's patterns (`*`, `?`, `**`, `!` exceptions; the last match
wins; a pattern that matches a directory matches what is in it).

Usage: image_steps.py context            NUL-separated files of the build context
       image_steps.py shell UNDER [PATH]  bash assignments (IMAGE_*) for `eval`, with
                                          the base image's PATH taken to be PATH
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_STEP = "deploy/container/install-wheel"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def options(self) -> tuple[dict[str, str], str]:
        """Leading `--name=value` options, and the rest of the arguments."""
        options: dict[str, str] = {}
        rest = self.arguments
        while match := re.match(r"--([\w-]+)(?:=(\S*))?\s*", rest):
            options[match.group(1)] = match.group(2) or ""
            rest = rest[match.end() :]
        return options, rest

    def exec_form(self) -> list[str]:
        """The JSON array after any options (and, for HEALTHCHECK, after CMD)."""
        rest = self.options()[1]
        if self.keyword == "HEALTHCHECK":
            rest = rest.removeprefix("CMD").strip()
        value = json.loads(rest)
        if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise ValueError(f"{self.keyword}: not a JSON array of strings: {rest}")
        return value


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self, base_path: str = "/usr/local/bin:/usr/bin:/bin") -> dict[str, str]:
        """The ENV this stage sets, in order, `$VAR` expanded as Docker does (from the
        environment before each instruction; PATH starts as the base image's)."""
        env: dict[str, str] = {}
        for instruction in self.all("ENV"):
            before = {"PATH": base_path, **env}
            words = shlex.split(instruction.arguments)
            if words and "=" not in words[0]:  # the legacy `ENV NAME value` form
                words = [f"{words[0]}={' '.join(words[1:])}"]
            for word in words:
                name, _, value = word.partition("=")
                env[name] = _expand(value, before)
        return env

    def volumes(self) -> list[str]:
        found: list[str] = []
        for instruction in self.all("VOLUME"):
            text = instruction.arguments
            found += json.loads(text) if text.startswith("[") else text.split()
        return found

    def install_dir(self) -> str:
        """Where the RUN that calls the shared install step puts the venv."""
        for instruction in self.all("RUN"):
            words = instruction.options()[1].split()
            for index, word in enumerate(words[:-1]):
                if word.endswith("/" + INSTALL_STEP.rsplit("/", 1)[1]):
                    return words[index + 1]
        raise ValueError(f"no RUN step calls {INSTALL_STEP}")


def _expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""), value)


def logical_lines(text: str) -> list[str]:
    """Comment lines dropped (also inside a continuation), continuations joined."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.strip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def parse(text: str) -> list[Stage]:
    global_args: dict[str, str] = {}
    stages: list[tuple[str, str | None, list[Instruction]]] = []
    for line in logical_lines(text):
        keyword, _, arguments = line.strip().partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            global_args[name] = default
        elif keyword == "FROM":
            words = arguments.split()
            base = _expand(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append((base, name, []))
        elif stages:
            stages[-1][2].append(Instruction(keyword, arguments))
    return [Stage(base, name, tuple(instructions)) for base, name, instructions in stages]


def read(root: Path = ROOT) -> list[Stage]:
    return parse((root / "Dockerfile").read_text())


def _pattern(pattern: str) -> re.Pattern[str]:
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            out, index = out + pattern[index : end + 1], end + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out)


def ignore_rules(root: Path = ROOT) -> list[tuple[bool, str, re.Pattern[str]]]:
    """(is an exception, pattern, compiled) for each line of .dockerignore."""
    rules = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((exception, pattern, _pattern(pattern)))
    return rules


def excluded(path: str, rules: list[tuple[bool, str, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path (or a directory above it) wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for exception, _, compiled in rules:
        if any(compiled.fullmatch(prefix) for prefix in prefixes):
            verdict = not exception
    return verdict


def context_files(root: Path = ROOT) -> list[str]:
    """The files `docker build` sends for this checkout, relative to it, sorted. An
    excluded directory is not entered unless an exception names something below it."""
    rules = ignore_rules(root)
    exceptions = [pattern for exception, pattern, _ in rules if exception]
    files: list[str] = []
    for directory, subdirectories, names in os.walk(root):
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative + "/"
        subdirectories[:] = sorted(
            d
            for d in subdirectories
            if not excluded(prefix + d, rules)
            or any(e.startswith(prefix + d + "/") for e in exceptions)
        )
        files += [prefix + n for n in names if not excluded(prefix + n, rules)]
    return sorted(files)


def shell(under: str, base_path: str) -> str:
    """bash assignments for the runtime stage, the image's own paths (the venv, the
    volumes, the working directory) moved under `under`."""
    runtime = read()[-1]
    venv = runtime.install_dir()
    volumes = runtime.volumes()
    workdir = runtime.last("WORKDIR")
    user = runtime.last("USER")
    healthcheck = runtime.last("HEALTHCHECK")
    entrypoint = runtime.last("ENTRYPOINT")
    command = runtime.last("CMD")
    if None in (workdir, user, healthcheck, entrypoint, command):
        raise ValueError("the runtime stage needs WORKDIR, USER, HEALTHCHECK, ENTRYPOINT, CMD")
    assert workdir and user and healthcheck and entrypoint and command
    roots = sorted({venv, *volumes, workdir.arguments}, key=len, reverse=True)
    moved = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, roots)) + r")(?=/|:|$)")

    def move(value: str) -> str:
        return moved.sub(lambda m: under + m.group(1), value)

    env = [f"{name}={move(value)}" for name, value in runtime.env(base_path).items()]

    def array(name: str, values: list[str]) -> str:
        return f"{name}=({' '.join(shlex.quote(v) for v in values)})"

    return "\n".join(
        [
            f"IMAGE_BASE={shlex.quote(runtime.base)}",
            f"IMAGE_USER={shlex.quote(user.arguments)}",
            f"IMAGE_WORKDIR={shlex.quote(move(workdir.arguments))}",
            f"IMAGE_VENV={shlex.quote(move(venv))}",
            array("IMAGE_VOLUMES", [move(v) for v in volumes]),
            array("IMAGE_ENV", env),
            array("IMAGE_ENTRYPOINT", entrypoint.exec_form()),
            array("IMAGE_CMD", command.exec_form()),
            array("IMAGE_HEALTHCHECK", healthcheck.exec_form()),
        ]
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["context"]:
        sys.stdout.write("".join(f"{name}\0" for name in context_files()))
        return 0
    if argv[:1] == ["shell"] and len(argv) in (2, 3):
        print(shell(argv[1], argv[2] if len(argv) == 3 else "/usr/bin:/bin"))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
