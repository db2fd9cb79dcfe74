#!/usr/bin/env bash
# Compiles the Cadenza Unity package with Mono's C# compiler, the way the test suite
# does, into OUTDIR:
#   Cadenza.Core.dll     Runtime/Core, with no reference to UnityEngine (engine-agnostic)
#   UnityEngine.dll      the stub of the Unity API (UnityStub/), for compiling the glue
#   Cadenza.Unity.dll    Runtime/Unity, against the stub: catches signature mistakes
#   Cadenza.Samples.dll  Samples~ and samples/unity/Assets, against the stub
#   UnityEditor.dll      the stub of the UnityEditor API (UnityStub/), for the inspector
#   Cadenza.Unity.Editor.dll  Editor/, against both stubs
#   Cadenza.UnityTests.dll    Tests/Runtime and Tests/Editor (Unity's NUnit tests), against
#                        Debian's NUnit 2.6 framework (part of mono-devel), when present
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
mapfile -t editor < <(sources "$PKG/Editor")
mapfile -t unitytests < <(sources "$PKG/Tests")
mapfile -t samples < <(sources "$PKG/Samples~" "$ROOT/samples/unity/Assets")
mapfile -t tests < <(find "$HERE" -maxdepth 1 -name '*.cs' -print | LC_ALL=C sort)

"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Core.dll" "${core[@]}"
"${MCS[@]}" -target:library -out:"$OUT/UnityEngine.dll" "$HERE/UnityStub/UnityEngine.cs"
"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Unity.dll" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" "${glue[@]}"
"${MCS[@]}" -target:library -out:"$OUT/UnityEditor.dll" -r:"$OUT/UnityEngine.dll" "$HERE/UnityStub/UnityEditor.cs"
"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Unity.Editor.dll" -r:"$OUT/Cadenza.Core.dll" \
  -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" -r:"$OUT/UnityEditor.dll" "${editor[@]}"
NUNIT=$(find /usr/lib/cli /usr/lib/mono -name nunit.framework.dll -path '*2.6*' 2>/dev/null | LC_ALL=C sort | head -1)
if [ -n "$NUNIT" ]; then
  cp "$NUNIT" "$OUT/nunit.framework.dll"
  "${MCS[@]}" -target:library -out:"$OUT/Cadenza.UnityTests.dll" -r:"$OUT/nunit.framework.dll" \
    -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" \
    -r:"$OUT/UnityEditor.dll" -r:"$OUT/Cadenza.Unity.Editor.dll" "${unitytests[@]}"
fi
"${MCS[@]}" -target:library -out:"$OUT/Cadenza.Samples.dll" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" "${samples[@]}"
"${MCS[@]}" -target:exe -out:"$OUT/CadenzaTests.exe" \
  -r:"$OUT/Cadenza.Core.dll" -r:"$OUT/UnityEngine.dll" -r:"$OUT/Cadenza.Unity.dll" \
  -r:"$OUT/Cadenza.Unity.Editor.dll" "${tests[@]}"
echo "built $OUT/CadenzaTests.exe"
