// matmul (BLAS gemm with transpose flags) against a naive triple loop, in Float and Double.
import Autodiff
import CKernels
import XCTest

final class MatmulTests: XCTestCase {
    /// (m, k, n) shapes: degenerate, odd, and past typical gemm blocking sizes.
    let shapes = [(1, 1, 1), (3, 5, 2), (7, 1, 9), (17, 33, 5), (64, 65, 3)]
    /// Shapes large enough to be cut into column slices across threads (`splitGemm`), one with a ragged
    /// last slice (70 = 32 + 38 columns at two threads, 23 + 23 + 24 rounded to 16s at three).
    let splitShapes = [(50, 130, 70), (100, 64, 48), (33, 200, 100)]

    func check<S: TensorScalar>(_: S.Type, shapes: [(Int, Int, Int)]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let shapes = shapes ?? self.shapes
        let unitRoundoff = Double(S.ulpOfOne) / 2
        for (m, k, n) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    // Logical A is m x k and B is k x n; stored transposed when the flag is set.
                    let a = randomScalars(m * k, -1, 1, seed: UInt64(m * 1000 + k)).map { S($0) }
                    let b = randomScalars(k * n, -1, 1, seed: UInt64(k * 1000 + n)).map { S($0) }
                    func aAt(_ i: Int, _ p: Int) -> S { transposeA ? a[p * m + i] : a[i * k + p] }
                    func bAt(_ p: Int, _ j: Int) -> S { transposeB ? b[j * k + p] : b[p * n + j] }
                    let ta = Tensor(shape: transposeA ? [k, m] : [m, k], scalars: a)
                    let tb = Tensor(shape: transposeB ? [n, k] : [k, n], scalars: b)
                    let c = Tensor.matmul(ta, tb, transposeA: transposeA, transposeB: transposeB)
                    let label = "\(S.self) \(m)x\(k)x\(n) tA \(transposeA) tB \(transposeB)"
                    XCTAssertEqual(c.shape, [m, n], label, file: file, line: line)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var exact = 0.0, magnitude = 0.0
                            for p in 0..<k {
                                let term = Double(aAt(i, p)) * Double(bAt(p, j))
                                exact += term
                                magnitude += Swift.abs(term)
                            }
                            // Standard dot-product bound |error| ≤ γ_k Σ|aᵢₚbₚⱼ|, γ_k ≈ k·u (doubled for slack).
                            let bound = 2 * Double(k + 1) * unitRoundoff * magnitude
                            worst = Swift.max(worst, Swift.abs(Double(c[flat: i * n + j]) - exact) / Swift.max(bound, .leastNormalMagnitude))
                        }
                    }
                    XCTAssertLessThanOrEqual(worst, 1, label, file: file, line: line)
                }
            }
        }
    }

    func testMatmulDouble() { check(Double.self) }
    func testMatmulFloat() { check(Float.self) }

    /// Float products in libxsmm's range (the binary VAE's 24- and 48-row products, a weight gradient, a
    /// narrow layer; with a transposed B, the 24- and 48-row ones as Cᵀ = B·Aᵀ) meet the same bound through
    /// libxsmm as through BLAS, and libxsmm really runs them.
    func testSmallFloatProductsThroughLibxsmm() {
        let shapes = [(24, 200, 784), (48, 784, 200), (200, 24, 64), (100, 100, 48), (5, 7, 16)]
        for (m, k, n) in shapes {
            XCTAssertEqual(dg_xsmm_wanted(0, 0, m, n, k), 1, "\(m)x\(k)x\(n) is in libxsmm's range")
            XCTAssertEqual(dg_xsmm_wanted(1, 0, m, n, k), 1, "\(m)x\(k)x\(n) with a transposed A too")
        }
        XCTAssertEqual(dg_xsmm_wanted(0, 1, 48, 200, 784), 1, "a transposed B with few rows, as Cᵀ = B·Aᵀ")
        XCTAssertEqual(dg_xsmm_wanted(0, 1, 100, 512, 256), 0, "with 100 rows the transposes cost more than they save")
        XCTAssertEqual(dg_xsmm_wanted(1, 1, 48, 200, 784), 0, "both transposed stays with BLAS")
        XCTAssertEqual(dg_xsmm_wanted(0, 0, 100, 512, 784), 0, "large products stay with BLAS")
        XCTAssertEqual(dg_xsmm_wanted(0, 0, 48, 1, 200), 0, "matrix-vector products stay with BLAS")
        #if arch(x86_64)
        let a = [Float](repeating: 0.5, count: 24 * 200), b = [Float](repeating: 0.25, count: 200 * 784)
        var c = [Float](repeating: 9, count: 24 * 784)
        XCTAssertEqual(dg_xsmm_sgemm(0, 0, 24, 784, 200, a, 200, b, 784, 0, &c, 784), 1, "libxsmm generated a kernel")
        XCTAssertEqual(Set(c), [25], "0.5 · 0.25 summed 200 times, the old contents ignored (beta 0)")
        XCTAssertEqual(dg_xsmm_sgemm(0, 0, 24, 784, 200, a, 200, b, 784, 1, &c, 784), 1)
        XCTAssertEqual(Set(c), [50], "beta 1 accumulates")
        // B stored [784, 200] and transposed, into a 784-column slice of a wider C (ldc 800).
        var wide = [Float](repeating: 9, count: 24 * 800)
        XCTAssertEqual(dg_xsmm_sgemm(0, 1, 24, 784, 200, a, 200, b, 200, 0, &wide, 800), 1, "transposed B as Cᵀ = B·Aᵀ")
        for r in 0..<24 {
            XCTAssertEqual(Set(wide[(r * 800)..<(r * 800 + 784)]), [25], "row \(r)")
            XCTAssertEqual(Set(wide[(r * 800 + 784)..<(r * 800 + 800)]), [9], "row \(r): columns past the slice untouched")
        }
        XCTAssertEqual(dg_xsmm_sgemm(0, 1, 24, 784, 200, a, 200, b, 200, 1, &wide, 800), 0, "no accumulating form: BLAS")
        #endif
        let saved = BLASInfo.smallProductKernels
        defer { BLASInfo.smallProductKernels = saved }
        for setting in [true, false] {
            BLASInfo.smallProductKernels = setting
            check(Float.self, shapes: shapes)
        }
    }

    /// With several threads each product is cut into column slices, one BLAS call each (all four
    /// transpose cases address their slices differently); the result must still be the product, and the
    /// same bits every time for a fixed thread count.
    func testMatmulSplitAcrossThreads() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [2, 3] {
            Parallel.threads = threads
            check(Double.self, shapes: splitShapes)
            check(Float.self, shapes: splitShapes)
            let a = Tensor<Float>(shape: [100, 300], scalars: randomScalars(30_000, -1, 1, seed: 1).map { Float($0) })
            let b = Tensor<Float>(shape: [200, 300], scalars: randomScalars(60_000, -1, 1, seed: 2).map { Float($0) })
            let first = Tensor.matmul(a, b, transposeB: true), second = Tensor.matmul(a, b, transposeB: true)
            XCTAssertEqual(first, second, "\(threads) threads: same bits run to run")
        }
    }

    func testHandCaseAndEmptyInnerDimension() {
        let a = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor<Double>(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(Tensor.matmul(a, b), Tensor(shape: [2, 2], scalars: [58, 64, 139, 154]))
        XCTAssertEqual(Tensor.matmul(a, a, transposeB: true), Tensor(shape: [2, 2], scalars: [14, 32, 32, 77]))
        XCTAssertEqual(Tensor.matmul(a, a, transposeA: true).shape, [3, 3])
        // k = 0: an empty sum is zero, not uninitialised memory.
        let c = Tensor.matmul(Tensor<Double>(zeros: [2, 0]), Tensor<Double>(zeros: [0, 3]))
        XCTAssertEqual(c, Tensor(zeros: [2, 3]))
        XCTAssertEqual(Tensor.matmul(Tensor<Float>(zeros: [0, 4]), Tensor<Float>(ones: [4, 2])).shape, [0, 2])
    }
}
