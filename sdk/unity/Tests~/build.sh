#!/usr/bin/env bash
# Compiles the Cadenza Unity package with Mono's C# compiler, the way the test suite
# does, into OUTDIR:
#   Cadenza.Core.dll     Runtime/Core, with no reference to UnityEngine (engine-agnostic)
#   UnityEngine.dll      the stub of the Unity API (UnityStub/), for compiling the glue
#   Cadenza.Unity.dll    Runtime/Unity, against the stub: catches signature mistakes
#   Cadenza.Samples.dll  Samples~ and samples/unity/Assets, against the stub
#   CadenzaTests.exe     the test program (unit tests, live streaming scenarios, latency)
# C# 7.2 (Unity's and Mono's common ground), every warning an error.
# Usage: sdk/unity/Tests~/build.sh OUTDIR      (needs mcs: apt-get install mono-devel)
set -euo pipefail
OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PKG=$(dirname "$HERE")
ROOT=$(cd "$PKG/../.." && pwd)
mkdir -p "$OUT"
MCS=(mcs -langversion:7.2 -warnaserror+ -debug -nologo)

sources() { find "$@" -name '*.cs' -print | LC_ALL=C sort; }

mapfile -t core < <(sources "$PKG/Runtime/Core")
mapfile -t glue < <(sources "$PKG/Runtime/Unity")
mapfile -t samples < <(sources "$PKG/Samples~" "$ROOT/samples/unity/Assets")
mapfile -t tests < <(find "$HERE" -maxdepth 1 -name '*.cs' -print | LC_ALL=C sort)

"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Core.dll" "${core[@]}"
"${MCS[@]}" -target:library -out:"$OUT/UnityEngine.dll" "$HERE/UnityStub/UnityEngine.cs"
"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Unity.dll" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" "${glue[@]}"
"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Samples.dll" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" "${samples[@]}"
"${MCS[@]}" -target:exe -out:"$OUT/CadenzaTests.exe" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" "${tests[@]}"
echo "built $OUT/CadenzaTests.exe"
