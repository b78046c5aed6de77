#!/usr/bin/env python3
"""Runs every command the README shows, in a smoke mode, so the README cannot drift from the tool (`make readme-check`,
part of `make test`).

Commands are the lines of the README's shell code blocks and the inline code spans that are whole `vae-train ...` or
`make ...` commands. Each one gets exactly one rule, printed as it runs; a command no rule covers is a failure:
  - `vae-train ...` (also `swift run -c release vae-train ...` and `.build/release/vae-train ...`): run with the built
    binary in a scratch folder (configs/, data/ and .build/ linked from the checkout; runs/, results/ and $HOME its
    own, so nothing the user has is touched), with smoke arguments appended where it trains (1 epoch of 2 steps on
    ≤ 200 examples; bench, poly and toy a few steps).
  - `make TARGET ...`: `make -n` lists the recipe (so the target exists and expands); its `vae-train` lines are then
    run as above, and its `scripts/run_reinmax_table.sh` lines run with SHAPE=8x4 EPOCHS=1 SEEDS=[0] JOBS=2 and a
    `vae-train` that adds the smoke arguments. `make help` runs as written.
  - `python3 -c ...`, `echo ...`: run in the scratch folder.
  - commands that set up the machine or time the peers (`swift build`, the peers' setup and side-by-side scripts under
    ../shared/peers/) are not run: the files they name must exist (when ../shared/peers is beside the checkout).
Without full MNIST (before `make data`), training smoke runs use the committed subset, data/embedded.
A synopsis with placeholders (`vae-train export --run DIR [--out FILE.npz]`) is not a command and is skipped.
Usage: python3 scripts/check_readme_commands.py [--readme README.md] [--vae-train .build/release/vae-train]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHELL_PREFIXES = ("make ", "swift ", ".build/", "python", "env ", "bash ", "echo ", "vae-train ")
TRAIN_SMOKE = ["--set", "training.epochs=1", "--set", "training.max_steps_per_epoch=2",
               "--set", "data.train_limit=200", "--set", "data.test_limit=100"]
SUBCOMMAND_SMOKE = {
    "bench": ["--steps", "2", "--latents", "8x4", "--estimators", "st,reinmax"],
    "poly": ["--steps", "20", "--seeds", "1", "--estimators", "st,reinmax"],
    "toy": ["--steps", "20", "--seeds", "1", "--estimators", "reinforce,rebar"],
}
# Subcommands that never train or that read a run (no smoke arguments).
PLAIN_SUBCOMMANDS = {"estimators", "export", "picture", "analyze"}
PLACEHOLDER = re.compile(r"\b(DIR|FILE)\b|\[")


def readme_commands(text):
    """(line number, command) for each shell line of a code block and each inline command span."""
    commands = []
    in_block, language = False, ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_block, language = (not in_block), stripped[3:].strip()
            continue
        if in_block:
            if language in ("", "sh", "bash", "shell") and stripped.startswith(SHELL_PREFIXES):
                commands.append((number, strip_comment(stripped)))
            continue
        for span in re.findall(r"`([^`]+)`", line):
            if span.startswith(("vae-train ", "make ")) or span in ("vae-train", "make"):
                commands.append((number, span.strip()))
    return commands


def strip_comment(line):
    """The command without a trailing `# comment` (a # outside quotes, after whitespace), as written otherwise."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


class Checker:
    def __init__(self, binary, scratch, log):
        self.binary = binary
        self.scratch = scratch
        self.log = log
        self.failures = []
        for name in ("configs", "data", "scripts", ".build"):
            target = os.path.join(REPO, name)
            if os.path.exists(target):
                os.symlink(target, os.path.join(scratch, name))
        for name in ("runs", "results", "home"):
            os.makedirs(os.path.join(scratch, name), exist_ok=True)
        self.env = dict(os.environ, HOME=os.path.join(scratch, "home"))
        # Full-MNIST configs find their data where a user's would be: data/ (linked), else ../shared/data beside
        # the checkout (CI), unless DISCRETEGRAD_DATA already says where.
        shared = os.path.join(os.path.dirname(REPO), "shared", "data")
        if "DISCRETEGRAD_DATA" not in self.env and not os.path.isdir(os.path.join(REPO, "data", "mnist")) and os.path.isdir(shared):
            self.env["DISCRETEGRAD_DATA"] = shared
        # Without full MNIST anywhere (a fresh clone before `make data`), the smoke runs train on the committed
        # subset instead: they check that a command works, not what it computes.
        self.train_smoke = list(TRAIN_SMOKE)
        data_root = self.env.get("DISCRETEGRAD_DATA")
        if not os.path.isdir(os.path.join(REPO, "data", "mnist")) and not (data_root and os.path.isdir(os.path.join(data_root, "mnist"))):
            self.train_smoke += ["--set", "data.directory=" + os.path.join(REPO, "data", "embedded")]
            log("  (full MNIST not found: smoke runs use the committed subset, data/embedded)")
        # A vae-train that appends the training smoke arguments, for scripts that call the binary themselves.
        self.smoke_binary = os.path.join(scratch, "vae-train-smoke")
        with open(self.smoke_binary, "w") as f:
            f.write("#!/bin/sh\nexec " + shlex.quote(binary) + ' "$@" ' + " ".join(shlex.quote(w) for w in self.train_smoke[2:]) + "\n")
        os.chmod(self.smoke_binary, 0o755)

    def fail(self, number, command, why):
        self.failures.append((number, command, why))
        self.log(f"  FAIL  README:{number}: {command}\n        {why}")

    def run_shell(self, number, command, cwd):
        result = subprocess.run(command, shell=True, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-6:]
            self.fail(number, command, f"exit {result.returncode}: " + " | ".join(tail))
            return False
        return True

    def vae_train(self, number, original, words):
        """Runs `vae-train WORDS` (words after the program name), smoke arguments appended."""
        redirect = ""
        if ">" in words:
            i = words.index(">")
            redirect = " > " + words[i + 1]
            words = words[:i]
        sub = words[0] if words and not words[0].startswith("-") else None
        if sub in SUBCOMMAND_SMOKE:
            extra = SUBCOMMAND_SMOKE[sub]
        elif sub in PLAIN_SUBCOMMANDS or "--list" in words or "--help" in words or any(w.startswith("--generate-completion") for w in words):
            extra = []
        elif sub is None and "--config" in words:
            extra = self.train_smoke
        else:
            self.fail(number, original, f"no smoke rule for `vae-train {' '.join(words)}`")
            return
        command = " ".join(shlex.quote(w) for w in [self.binary] + words + extra) + redirect
        self.log(f"  {'smoke' if extra else 'run':<10} README:{number}: {original}")
        self.run_shell(number, command, self.scratch)

    def check(self, number, command):
        if PLACEHOLDER.search(command) and command.startswith("vae-train"):
            self.log(f"  synopsis   README:{number}: {command}")
            return
        try:
            words = shlex.split(command)
        except ValueError as error:
            self.fail(number, command, f"cannot parse: {error}")
            return
        if words[:4] == ["swift", "run", "-c", "release"] and words[4:5] == ["vae-train"]:
            return self.vae_train(number, command, words[5:])
        if words[0] in ("vae-train", ".build/release/vae-train"):
            return self.vae_train(number, command, words[1:])
        if words[:3] == ["swift", "build", "-c"] or words == ["swift", "build"]:
            self.log(f"  not run    README:{number}: {command} (the build `make test` just did)")
            return
        if words[0] == "make":
            return self.make(number, command, words[1:])
        if "../shared/peers/" in command:
            if not os.path.isdir(os.path.join(REPO, "..", "shared", "peers")):
                self.log(f"  not here   README:{number}: {command} (../shared/peers is not beside this checkout)")
                return
            missing = [w for w in re.findall(r"\.\./shared/peers/[\w./-]+", command) if not os.path.exists(os.path.join(REPO, w))]
            if missing:
                self.fail(number, command, f"names files that do not exist: {', '.join(missing)}")
            else:
                self.log(f"  exists     README:{number}: {command} (peer instruments: not run here)")
            return
        if words[0] in ("python3", "echo") or command.startswith("python3 -c"):
            self.log(f"  run        README:{number}: {command}")
            self.run_shell(number, command, self.scratch)
            return
        self.fail(number, command, "no rule for this command (add one to scripts/check_readme_commands.py)")

    def make(self, number, command, arguments):
        if arguments[:1] == ["help"] or not arguments:
            self.log(f"  run        README:{number}: {command}")
            self.run_shell(number, "make " + " ".join(arguments or ["help"]), REPO)
            return
        target = arguments[0]
        sized = ["SHAPE=8x4", "EPOCHS=1", "SEEDS=[0]", "JOBS=2"] if target.startswith("reinmax-table") else []
        dry = subprocess.run(["make", "-n"] + arguments + sized, cwd=REPO, capture_output=True, text=True)
        if dry.returncode != 0:
            self.fail(number, command, "make -n: " + (dry.stderr.strip().splitlines() or ["failed"])[-1])
            return
        lines = [l.strip() for l in dry.stdout.splitlines() if ".build/release/vae-train" in l and not l.strip().startswith("#")]
        scripts = [l.strip() for l in dry.stdout.splitlines() if "scripts/run_reinmax_table.sh" in l]
        if target in ("test", "test-debug", "test-scripts", "readme-check", "data", "data-mnist", "data-binarized", "data-fashion-mnist", "slurm-smoke", "report", "example", "setup", "clean"):
            self.log(f"  make -n    README:{number}: {command} (recipe expands; not run here: "
                     + {"test": "it is this run", "test-debug": "the same suite in debug", "report": "it writes results/",
                        "example": "make test runs it", "test-scripts": "make test runs it", "readme-check": "it is this check", "slurm-smoke": "installs Slurm", "clean": "it deletes the build",
                        "setup": "make test ran it"}.get(target, "needs the network or the data sources") + ")")
            return
        self.log(f"  make -n    README:{number}: {command} -> {len(lines)} vae-train line(s), {len(scripts)} script line(s)")
        for line in scripts:
            self.log(f"  smoke      README:{number}: (make {target} {' '.join(sized)}) {line}")
            env = dict(self.env, VAE_TRAIN=self.smoke_binary)
            result = subprocess.run(line, shell=True, cwd=self.scratch, env=env, capture_output=True, text=True, timeout=1800)
            failed = [l for l in result.stdout.splitlines() if l.startswith("FAILED")]
            if result.returncode != 0 or failed or "done" not in result.stdout:
                self.fail(number, command, f"exit {result.returncode}: " + " | ".join((failed or result.stderr.strip().splitlines())[-4:]))
        if not lines and not scripts:
            self.fail(number, command, "the recipe runs no vae-train command, and no rule says how to check it")
        for line in lines:
            words = shlex.split(line)
            index = next(i for i, w in enumerate(words) if w.endswith(".build/release/vae-train"))
            self.vae_train(number, f"(make {target}) {line}", words[index + 1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default=os.path.join(REPO, "README.md"))
    parser.add_argument("--vae-train", default=os.path.join(REPO, ".build/release/vae-train"))
    args = parser.parse_args()
    if not os.access(args.vae_train, os.X_OK):
        sys.exit(f"{args.vae_train} not found: run `make release` first (or pass --vae-train)")
    with open(args.readme, encoding="utf-8") as f:
        commands = readme_commands(f.read())
    if not commands:
        sys.exit(f"no commands found in {args.readme}")
    with tempfile.TemporaryDirectory(prefix="readme-check-") as scratch:
        checker = Checker(os.path.abspath(args.vae_train), scratch, lambda s: print(s, flush=True))
        print(f"{len(commands)} README commands, in a scratch folder {scratch}:")
        first_seen = {}
        for number, command in commands:
            if command in first_seen:
                print(f"  same       README:{number}: {command} (as README:{first_seen[command]})")
                continue
            first_seen[command] = number
            checker.check(number, command)
    if checker.failures:
        print(f"{len(checker.failures)} of {len(commands)} README commands failed", file=sys.stderr)
        sys.exit(1)
    print(f"all {len(commands)} README commands ran (or are covered as stated above)")


if __name__ == "__main__":
    main()
