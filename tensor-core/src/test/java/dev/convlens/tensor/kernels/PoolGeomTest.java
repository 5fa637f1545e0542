package dev.convlens.tensor.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Output sizes against values printed by PyTorch 1.13
 * ({@code F.max_pool2d(torch.randn(1,1,H,H), k, s, p, d, ceil_mode=...).shape[-1]}).
 * PyTorch's rule: out = ceil_or_floor((H + 2p - d(k-1) - 1)/s) + 1, then in ceil mode
 * out-- if (out-1)*s >= H + p (the last window must start inside the input or the top/left padding).
 */
class PoolGeomTest {

    @ParameterizedTest(name = "H={0} k={1} s={2} p={3} d={4}: floor {5}, ceil {6}")
    @CsvSource({
            // H, k, s, p, d, floor, ceil     (comment: the ceil-mode arithmetic)
            "7,   3, 2, 0, 1, 3,  3",  // (7-3)/2 = 2 exactly: ceil adds nothing
            "6,   3, 2, 1, 1, 3,  4",  // (6+2-3)/2 = 2.5: ceil 3 + 1 = 4; 3*2 = 6 < 6+1 keeps 4
            "6,   3, 2, 0, 1, 2,  3",  // (6-3)/2 = 1.5: ceil 2 + 1 = 3; 2*2 = 4 < 6 keeps 3
            "5,   2, 2, 0, 1, 2,  3",  // (5-2)/2 = 1.5: ceil 2 + 1 = 3; 4 < 5 keeps 3
            "5,   2, 2, 1, 1, 3,  3",  // (5+2-2)/2 = 2.5: ceil gives 4, but 3*2 = 6 >= 5+1 drops it to 3
            "8,   3, 3, 1, 1, 3,  3",  // (8+2-3)/3 = 2.33: ceil gives 4, but 3*3 = 9 >= 8+1 drops it to 3
            "7,   2, 3, 1, 1, 3,  3",  // (7+2-2)/3 = 2.33: ceil gives 4, but 3*3 = 9 >= 7+1 drops it to 3
            "112, 3, 2, 1, 1, 56, 57", // ResNet's stem pool (floor) and the same in ceil mode
            "55,  3, 2, 0, 1, 27, 27", // AlexNet's first pool
            "9,   3, 2, 1, 2, 4,  4",  // dilation 2: (9+2-5)/2 = 3 exactly
    })
    void outputSizeMatchesPyTorch(int h, int k, int s, int p, int d, int floorOut, int ceilOut) {
        PoolGeom f = PoolGeom.of("test", 1, 1, h, h, k, k, s, s, p, p, p, p, d, d, false);
        PoolGeom c = PoolGeom.of("test", 1, 1, h, h, k, k, s, s, p, p, p, p, d, d, true);
        assertEquals(floorOut, f.oh());
        assertEquals(floorOut, f.ow());
        assertEquals(ceilOut, c.oh());
        assertEquals(ceilOut, c.ow());
    }

    @Test
    void rectangularAndAsymmetric() {
        // rows: (6 + 1 + 0 - 3)/2 + 1 = 3; columns: (5 + 0 + 1 - 2)/1 + 1 = 5
        PoolGeom g = PoolGeom.of("test", 2, 3, 6, 5, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, false);
        assertEquals(3, g.oh());
        assertEquals(5, g.ow());
    }

    @Test
    void refusesBadConfigurationsNamingTheOpAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("MaxPool2d", 1, 2, 5, 5, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1, false));
        assertTrue(e.getMessage().startsWith("MaxPool2d: "), e.getMessage());
        assertTrue(e.getMessage().contains("smaller than the (dilated) window") && e.getMessage().contains("(1,2,5,5)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("AvgPool2d", 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, false));
        assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("x", 1, 1, 4, 4, 2, 2, 0, 1, 0, 0, 0, 0, 1, 1, false));
        assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("x", 1, 1, 4, 4, 2, 2, 1, 1, -1, 0, 0, 0, 1, 1, false));
        assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("x", 1, 0, 4, 4, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, false));
        assertThrows(IllegalArgumentException.class,
                () -> PoolGeom.of("x", 1, 1, 4, 4, 2, 2, 1, 1, 0, 0, 0, 0, 0, 1, false));
    }
}
