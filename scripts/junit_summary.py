"""Print `<label>: N passed, N failed, N skipped` from a pytest JUnit XML report (test.sh's closing lines)."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main() -> int:
    label, path = sys.argv[1], Path(sys.argv[2])
    if not path.exists():
        print(f"{label}: 0 passed, 1 failed (pytest wrote no report)")
        return 0
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed = total - failed - skipped
    print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
