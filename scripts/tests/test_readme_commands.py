"""scripts/check_readme_commands.py fails on a README command that does not work, and passes on ones that do."""
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(REPO, "scripts", "check_readme_commands.py")
BINARY = os.path.join(REPO, ".build", "release", "vae-train")


@unittest.skipUnless(os.access(BINARY, os.X_OK), "needs the release build (make release)")
class CheckReadmeCommandsTests(unittest.TestCase):
    def check(self, readme_text):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(readme_text)
        self.addCleanup(os.remove, f.name)
        return subprocess.run([sys.executable, CHECKER, "--readme", f.name, "--vae-train", BINARY],
                              capture_output=True, text=True, timeout=600)

    def test_working_commands_pass(self):
        result = self.check("Try `vae-train estimators`.\n\n```\nswift run -c release vae-train --config configs/quickstart.json  # trains\n"
                            "make help\n```\n")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("smoke      README:4: swift run -c release vae-train --config configs/quickstart.json", result.stdout)
        self.assertIn("all 3 README commands ran", result.stdout)

    def test_a_missing_config_fails_naming_the_line(self):
        result = self.check("```\nmake help\nswift run -c release vae-train --config configs/no_such_config.json\n```\n")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("FAIL  README:3", result.stdout)
        self.assertIn("no_such_config.json", result.stdout)

    def test_an_unknown_option_or_make_target_fails(self):
        result = self.check("Run `vae-train estimators --no-such-flag` or `make no-such-target`.\n")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("2 of 2 README commands failed", result.stderr)

    def test_a_command_without_a_rule_fails(self):
        result = self.check("```\npython -m something.unknown\n```\n")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("no rule for this command", result.stdout)

    def test_synopses_and_json_blocks_are_not_commands(self):
        result = self.check("`vae-train export --run DIR [--out FILE.npz]`\n\n```json\n{\"make \": 1}\n```\n\n`make help`\n")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("synopsis", result.stdout)
        self.assertIn("all 2 README commands", result.stdout)


if __name__ == "__main__":
    unittest.main()
