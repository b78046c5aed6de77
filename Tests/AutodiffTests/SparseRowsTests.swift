// SparseRows: the stored form round-trips, the density rule picks the sparse path for mostly-zero
// constants only, and the sparse products give exactly the documented sums (each element summed in the
// nonzeros' order, one rounding per product and per sum) on every kernel path and any thread split.
// Their first- and second-order gradient checks are OpCases.sparse in FirstOrderTests/SecondOrderTests.
import Autodiff
import CKernels
import TestSupport
import XCTest

final class SparseRowsTests: XCTestCase {
    /// A [rows, cols] matrix with about `density` of its entries nonzero (values in ±[0.1, 1]).
    func sparseMatrix<S: TensorScalar>(_: S.Type, rows: Int, cols: Int, density: Double, seed: UInt64) -> Tensor<S> {
        var rng = RandomStream(seed: seed)
        let scalars: [S] = (0..<(rows * cols)).map { _ in
            guard rng.nextUnit() < density else { return 0 }
            let magnitude = 0.1 + 0.9 * rng.nextUnit()
            return S(rng.next() & 1 == 0 ? magnitude : -magnitude)
        }
        return Tensor(shape: [rows, cols], scalars: scalars)
    }

    func scalars<S>(_ t: Tensor<S>) -> [S] { (0..<t.count).map { t[flat: $0] } }

    func testRoundTripAndTranspose() {
        for (rows, cols, density) in [(4, 9, 0.2), (7, 1, 0.5), (1, 13, 0.3), (30, 17, 0.1), (5, 6, 0.0), (0, 5, 0.0)] {
            let dense = sparseMatrix(Double.self, rows: rows, cols: cols, density: density, seed: UInt64(rows * 100 + cols))
            let sparse = SparseRows(dense)
            let label = "\(rows)x\(cols)"
            XCTAssertEqual(sparse.shape, [rows, cols], label)
            XCTAssertEqual(sparse.nonzeros, scalars(dense).filter { $0 != 0 }.count, label)
            XCTAssertEqual(scalars(sparse.dense), scalars(dense), label)
            XCTAssertEqual(sparse.transposed.shape, [cols, rows], label)
            XCTAssertEqual(scalars(sparse.transposed.dense), scalars(dense.transposed()), label)
        }
    }

    func testNaNCountsAsNonzero() {
        let dense = Tensor<Double>(shape: [2, 3], scalars: [0, .nan, 0, 0, 0, 1])
        let sparse = SparseRows(dense)
        XCTAssertEqual(sparse.nonzeros, 2)
        let product = sparse.times(Tensor(shape: [3, 1], scalars: [1, 1, 1]))
        XCTAssertTrue(product[flat: 0].isNaN)
        XCTAssertEqual(product[flat: 1], 1)
    }

    func testDensityRule() {
        let limit = SparseRows<Float>.maximumDensity
        // 10 x 20 = 200 entries: exactly at the limit is sparse, one more nonzero is not.
        let atLimit = Int(limit * 200)
        func matrix(nonzeros: Int) -> Tensor<Float> {
            Tensor(shape: [10, 20], scalars: (0..<200).map { $0 < nonzeros ? 1 : 0 })
        }
        XCTAssertNotNil(SparseRows.ifSparse(matrix(nonzeros: atLimit)))
        XCTAssertNil(SparseRows.ifSparse(matrix(nonzeros: atLimit + 1)))
        XCTAssertNil(SparseRows.ifSparse(Tensor<Float>(zeros: [4])), "only matrices")
        XCTAssertNil(SparseRows.ifSparse(Tensor<Float>(zeros: [0, 4])), "empty")
    }

    /// `affine` on a mostly-zero constant (so the sparse path) and its weight gradient, in Float, against
    /// the documented sums written as plain loops: equal to the bit on every kernel path and for one and
    /// two threads. The shapes split across two threads, and width 90 leaves a 4-vector slab, single
    /// vectors and a scalar tail on both vector paths.
    func testSparseAffineIsExactlyTheOrderedSum() {
        let (rows, cols, n) = (64, 300, 90)
        let x = sparseMatrix(Float.self, rows: rows, cols: cols, density: 0.15, seed: 7)
        let w = Tensor<Float>(shape: [cols, n], scalars: randomScalars(cols * n, -1, 1, seed: 8).map { Float($0) })
        let b = Tensor<Float>(shape: [n], scalars: randomScalars(n, -1, 1, seed: 9).map { Float($0) })
        let g = Tensor<Float>(shape: [rows, n], scalars: randomScalars(rows * n, -1, 1, seed: 10).map { Float($0) })
        XCTAssertNotNil(SparseRows.ifSparse(x), "the input must take the sparse path")

        var expected = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var total = b[flat: j]
                for i in 0..<cols where x[flat: r * cols + i] != 0 {
                    let product = x[flat: r * cols + i] * w[flat: i * n + j]
                    total = total + product
                }
                expected[r * n + j] = total
            }
        }
        var expectedGradient = [Float](repeating: 0, count: cols * n)
        for i in 0..<cols {
            for j in 0..<n {
                var total: Float = 0
                for r in 0..<rows where x[flat: r * cols + i] != 0 {
                    let product = x[flat: r * cols + i] * g[flat: r * n + j]
                    total = total + product
                }
                expectedGradient[i * n + j] = total
            }
        }

        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        onEveryKernelPath { path in
            for threads in [1, 2] {
                Parallel.threads = threads
                let weight = Variable(w, requiresGradient: true), bias = Variable(b, requiresGradient: true)
                let y = affine(Variable(x), weight, bias)
                XCTAssertEqual(scalars(y.value), expected, "\(path), \(threads) threads: forward")
                let gw = gradientValues(of: (y * Variable(g)).sum(), wrt: [weight])[0]
                XCTAssertEqual(scalars(gw), expectedGradient, "\(path), \(threads) threads: weight gradient")
            }
        }
    }

    /// The sparse path agrees with BLAS's dense product to rounding (Double), including the bias gradient,
    /// so the choice of path never changes what a model computes beyond the last bits.
    func testSparseAffineMatchesDenseProduct() {
        let x = sparseMatrix(Double.self, rows: 20, cols: 50, density: 0.2, seed: 11)
        let w = Tensor<Double>(shape: [50, 33], scalars: randomScalars(50 * 33, -1, 1, seed: 12))
        let b = Tensor<Double>(shape: [33], scalars: randomScalars(33, -1, 1, seed: 13))
        let weight = Variable(w, requiresGradient: true), bias = Variable(b, requiresGradient: true)
        let sparse = affine(Variable(x), weight, bias)
        let dense = Tensor.affine(x, w, b)
        for i in 0..<dense.count { XCTAssertEqual(sparse.value[flat: i], dense[flat: i], accuracy: 1e-12) }
        let (gw, gb) = { (g: [Tensor<Double>]) in (g[0], g[1]) }(gradientValues(of: sparse.sum(), wrt: [weight, bias]))
        let denseGradient = Tensor.matmul(x, Tensor(ones: [20, 33]), transposeA: true)
        for i in 0..<gw.count { XCTAssertEqual(gw[flat: i], denseGradient[flat: i], accuracy: 1e-12) }
        for j in 0..<33 { XCTAssertEqual(gb[flat: j], 20) }
    }
}
