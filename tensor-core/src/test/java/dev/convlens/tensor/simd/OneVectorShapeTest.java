package dev.convlens.tensor.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's sources name one vector species, {@link Gemm#S} (the preferred shape), and derive
 * every other from its shape (BatchNorm's doubles). A second FloatVector shape through the Vector
 * API's entry points pollutes their JVM-wide type profile, and C2 then may compile the stores of
 * storeTile and the Winograd transforms as calls to the lane-by-lane Java fallback (see the Javadoc
 * of {@link Gemm#S}; ResNet-18 saliency ran at 75 instead of 57 ms in about a third of the JVMs).
 */
class OneVectorShapeTest {
    static final Pattern SPECIES = Pattern.compile("\\b(\\w+Vector)\\.SPECIES_\\w+|VectorSpecies\\.of\\(");

    @Test
    void theSourcesNameOneSpecies() throws IOException {
        Path root = Path.of("src/main/java");
        assertTrue(Files.isDirectory(root), "run from the tensor-core module: " + root.toAbsolutePath());
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                String[] lines = Files.readString(f).split("\n");
                for (int i = 0; i < lines.length; i++) {
                    String line = lines[i].trim();
                    if (line.startsWith("*") || line.startsWith("//") || line.startsWith("/*")) continue;
                    Matcher m = SPECIES.matcher(line);
                    while (m.find()) {
                        String what = m.group();
                        // a species derived from Gemm.S's shape is the same shape for another element type
                        if (what.startsWith("VectorSpecies.of(") && line.contains("S.vectorShape()")) what += "S.vectorShape())";
                        found.add(root.relativize(f).getFileName() + ": " + what);
                    }
                }
            }
        }
        found.sort(null);
        assertEquals(List.of("BatchNorm.java: VectorSpecies.of(S.vectorShape())", "Gemm.java: FloatVector.SPECIES_PREFERRED"),
                found, "the vector species named in src/main/java (BatchNorm's doubles take Gemm.S's shape)");
    }
}
