package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The kernels run at the width {@value Simd#BITS_PROPERTY} asks for (the narrow-vector test run sets it), else the CPU's. */
class SimdTest {

    @Test
    void kernelsRunAtTheAskedWidth() {
        String asked = System.getProperty(Simd.BITS_PROPERTY);
        int expected = asked == null ? FloatVector.SPECIES_PREFERRED.vectorBitSize() : Integer.parseInt(asked);
        assertEquals(expected, Simd.bits());
        assertEquals(expected / 32, Simd.LANES);
        assertEquals(Simd.F.vectorBitSize(), Simd.S2.vectorBitSize());
        assertEquals(2 * Simd.LANES, Simd.S2.length());
    }
}
