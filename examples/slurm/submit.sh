#!/bin/bash
# Submits a buffycoat sweep to Slurm: a job array of N shards, then a merge job that runs when
# every shard succeeded (--dependency=afterok). Prints the two job ids.
#
#   examples/slurm/submit.sh SCENARIO.toml N KEY=SPEC [KEY=SPEC ...]
#
# e.g. examples/slurm/submit.sh data/scenarios/default.toml 8 rotor.rpm=1000:4000:16 run.duration_s=5:60:12
#
# Environment (all optional):
#   BUFFYCOAT      the buffycoat binary (default: buffycoat on PATH; resolved to an absolute path
#                  here, so the jobs run the same binary)
#   OUT            merged sweep file (default: sweep.h5)
#   CSV            merged CSV table (default: OUT with .csv; empty string: none)
#   PARTS          directory for the shard files and job logs (default: OUT without .h5, + .parts)
#   CPUS_PER_TASK  CPUs per shard (default 1); each shard runs that many points at once
#   SBATCH_ARGS    extra sbatch options for both jobs, e.g. "--partition=short --time=01:00:00"
# Paths are relative to the current directory, where the jobs also run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 3 ]; then
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 1
fi
scenario=$1
n=$2
shift 2
case $n in '' | *[!0-9]* | 0) echo "submit.sh: N must be a whole number ≥ 1, got '$n'" >&2; exit 1 ;; esac
[ -f "$scenario" ] || { echo "submit.sh: no scenario file $scenario" >&2; exit 1; }

buffycoat=${BUFFYCOAT:-buffycoat}
if ! buffycoat_path=$(command -v "$buffycoat"); then
  echo "submit.sh: cannot find the buffycoat binary '$buffycoat' (set BUFFYCOAT=/path/to/buffycoat)" >&2
  exit 1
fi
case $buffycoat_path in /*) ;; *) buffycoat_path=$PWD/$buffycoat_path ;; esac
out=${OUT:-sweep.h5}
csv=${CSV-${out%.h5}.csv}
parts=${PARTS:-${out%.h5}.parts}
cpus=${CPUS_PER_TASK:-1}
read -r -a extra <<<"${SBATCH_ARGS:-}"
mkdir -p "$parts"

array=$(sbatch --parsable "${extra[@]}" --array="0-$((n - 1))" --cpus-per-task="$cpus" \
  --output="$parts/sweep-%A_%a.out" --export="ALL,BUFFYCOAT=$buffycoat_path,SHARDS=$n" \
  "$here/sweep.sbatch" "$scenario" "$parts" "$@")
array=${array%%;*}
merge_args=("$parts" "$n" "$out")
[ -n "$csv" ] && merge_args+=("$csv")
merge=$(sbatch --parsable "${extra[@]}" --dependency="afterok:$array" \
  --output="$parts/merge-%j.out" --export="ALL,BUFFYCOAT=$buffycoat_path" \
  "$here/merge.sbatch" "${merge_args[@]}")
merge=${merge%%;*}
echo "sweep job $array: $n shards -> $parts/part-{0..$((n - 1))}.h5"
echo "merge job $merge (after the array succeeds) -> $out${csv:+ and $csv}"
