#!/usr/bin/env bash
# Assembles .gpu/ (git-ignored, ~45 MB) for a run of convlens's OpenCL backend on a GPU machine that
# has no JDK and no Maven: a jlink'ed JDK 17 with jdk.incubator.vector, the project's jars and test
# classes, JUnit's launcher, Debian's OpenCL ICD loader, GpuCheck and run.sh. Run it after
# `mvn -B -ntp verify` (or `mvn -o -q install -DskipTests` plus test-compile), then send .gpu along
# and run `bash .gpu/run.sh` there. Nothing in CI uses it.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/device-check
rm -rf .gpu && mkdir -p .gpu/lib .gpu/classes
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
mvn -o -q dependency:build-classpath -pl tensor-core -Dmdep.outputFile="$PWD/.gpu/cp.txt" -Dmdep.includeScope=test >/dev/null \
  || mvn -q dependency:build-classpath -pl tensor-core -Dmdep.outputFile="$PWD/.gpu/cp.txt" -Dmdep.includeScope=test
# tensor-core's classpath (Aparapi, JUnit) is all the tests and GpuCheck need: the OpenCL tests of nn
# and models load no ONNX file (protobuf, onnxruntime stay behind).
tr ':' '\n' < .gpu/cp.txt | xargs -I{} cp {} .gpu/lib/
launcher=$(find ~/.m2/repository/org/junit/platform/junit-platform-launcher -name 'junit-platform-launcher-1.*.jar' | sort -V | tail -1)
cp "$launcher" .gpu/lib/
cp tensor-core/target/tensor-core-*-SNAPSHOT.jar tensor-core/target/tensor-core-*-tests.jar nn/target/nn-*.jar models/target/models-*.jar .gpu/lib/
(cd nn/target/test-classes && jar cf ../../../.gpu/lib/nn-tests.jar .)
(cd models/target/test-classes && jar cf ../../../.gpu/lib/models-tests.jar .)
# aparapi-jni carries every platform's library (19 MB): keep Linux x86-64's only.
zip -q -d .gpu/lib/aparapi-jni-*.jar 'win/*' 'osx/*' 'linux/libaparapi_armhf.so' 'linux/libaparapi_aarch64.so' 'linux/libaparapi_x86.so' || true
rm -rf /tmp/convlens-jrt
"${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"/bin/jlink --add-modules java.base,jdk.incubator.vector,java.logging,java.management,jdk.unsupported,java.desktop \
  --compress=2 --strip-debug --no-header-files --no-man-pages --output /tmp/convlens-jrt
tar czf .gpu/jrt.tgz -C /tmp convlens-jrt && rm -rf /tmp/convlens-jrt
(cd .gpu && apt-get download ocl-icd-libopencl1 >/dev/null && dpkg -x ocl-icd-libopencl1_*.deb ocl && rm ocl-icd-libopencl1_*.deb)
javac --release 17 -d .gpu/classes -cp ".gpu/lib/*" $here/GpuCheck.java
cp $here/run.sh $here/peer.py $here/peer_cpu.py .gpu/
du -sh .gpu
