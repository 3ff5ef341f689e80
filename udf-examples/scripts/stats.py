"""Mean, min and max of {"values": [...]} read from stdin; the JSON printed on stdout is the result."""
import json
import sys

values = json.load(sys.stdin)["values"]
print(f"got {len(values)} values", file=sys.stderr)
print(json.dumps({"count": len(values), "mean": sum(values) / len(values), "min": min(values), "max": max(values)}))
