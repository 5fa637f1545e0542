package dev.convlens.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.viz.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The table NetworkMain prints (no benchmark is run here): rows read back from the JSON lines of
 * torch_bench.py and of NetworkMain itself, ratios of medians, and the targets.
 */
class NetworkMainTest {
    @TempDir Path dir;

    @Test
    void mergesConvlensOrtAndTorchIntoOneRowWithRatios() throws Exception {
        Path torch = dir.resolve("torch.jsonl");
        // exactly what json.dumps writes (spaces after colons and commas)
        Files.writeString(torch, "{\"impl\": \"pytorch\", \"model\": \"resnet18\", \"what\": \"forward\", \"batch\": 1, \"threads\": 2, "
                + "\"median_ms\": 40.0, \"min_ms\": 38.5, \"max_ms\": 52.2, \"mean_ms\": 41.0, \"n\": 120, \"torch\": \"1.13.0a0\"}\n"
                + "{\"impl\": \"pytorch\", \"model\": \"resnet18\", \"what\": \"train\", \"batch\": 16, \"threads\": 2, "
                + "\"median_ms\": 1000.0, \"min_ms\": 990.0, \"max_ms\": 1100.0, \"mean_ms\": 1010.0, \"n\": 6, \"torch\": \"1.13.0a0\"}\n");
        List<NetworkMain.Row> rows = new ArrayList<>();
        rows.add(new NetworkMain.Row("convlens", "resnet18", "forward", 1, 2, 30, 29, 35, 31, 200));
        rows.add(new NetworkMain.Row("ort", "resnet18", "forward", 1, 2, 40, 39, 45, 41, 150));
        rows.add(new NetworkMain.Row("convlens", "resnet18", "train", 16, 2, 900, 880, 950, 905, 10));
        Path mine = dir.resolve("jmh.jsonl");
        StringBuilder b = new StringBuilder();
        for (NetworkMain.Row r : rows) b.append(r.json()).append('\n');
        Files.writeString(mine, b.toString());

        List<NetworkMain.Row> back = NetworkMain.read(mine);
        assertEquals(rows, back);
        back.addAll(NetworkMain.read(torch));
        String table = NetworkMain.table(back);
        List<String> lines = table.lines().filter(l -> l.startsWith("| resnet18")).toList();
        assertEquals(2, lines.size(), table);
        assertTrue(lines.get(0).contains("| 30.0 (29.0-35.0) | 40.0 (39.0-45.0) | 40.0 (38.5-52.2) | 0.75 | 0.75 |"), lines.get(0));
        assertTrue(lines.get(0).contains("<= 0.80x ORT: met; <= 0.80x PyTorch: met"), lines.get(0));
        // 900 / 1000 = 0.90 > 1/1.2: the training target (1.2x PyTorch's images per second) is missed
        assertTrue(lines.get(1).contains("| 0.90 |") && lines.get(1).contains("PyTorch: missed"), lines.get(1));
        assertTrue(lines.get(1).contains("| - |"), "no ONNX Runtime training column: " + lines.get(1));
    }

    @Test
    void aMissingModelsFolderSaysHowToMakeIt() {
        String old = System.getProperty("convlens.models");
        System.setProperty("convlens.models", dir.resolve("nowhere").toString());
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BenchModels.file("resnet18", Workload.What.FORWARD));
            assertTrue(e.getMessage().contains("nowhere") && e.getMessage().contains("export-models.sh"), e.getMessage());
            System.setProperty("convlens.models", dir.toString());
            e = assertThrows(IllegalStateException.class, () -> BenchModels.file("alexnet", Workload.What.TRAIN));
            assertTrue(e.getMessage().contains("alexnet.onnx") && e.getMessage().contains("export-models.sh"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("convlens.models");
            else System.setProperty("convlens.models", old);
        }
    }
}
