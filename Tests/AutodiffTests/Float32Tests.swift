// The Float specialisation: values and gradients of a few ops in Float32 against the same ops in
// Float64 on the same (exactly converted) inputs.
import Autodiff
import XCTest

final class Float32Tests: XCTestCase {
    /// Float32 carries ~7 digits; these small ops lose at most a few ulps (≈1e-7 each).
    let tolerance = 1e-5

    func assertClose(_ a: Tensor<Float>, _ b: Tensor<Double>, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[flat: i]), y = b[flat: i]
            XCTAssertLessThanOrEqual(Swift.abs(x - y), tolerance * Swift.max(1, Swift.abs(y)),
                                     "\(what)[\(i)]: Float \(x) vs Double \(y)", file: file, line: line)
        }
    }

    /// Runs `op` in both precisions: values, and gradients of Σ v⊙op(x) for a random v.
    func compare(_ name: String, _ shapes: [[Int]], range: Float = 2,
                 _ opF: ([Variable<Float>]) -> Variable<Float>, _ opD: ([Variable<Double>]) -> Variable<Double>,
                 file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomStream(seed: stableSeed(name))
        let inputsF = shapes.map { (Tensor<Float>.uniform($0, using: &rng) * 2 - 1) * range }
        let inputsD = inputsF.map { $0.converted(to: Double.self) }
        let xf = inputsF.map { Variable($0, requiresGradient: true) }
        let xd = inputsD.map { Variable($0, requiresGradient: true) }
        let yf = opF(xf), yd = opD(xd)
        assertClose(yf.value, yd.value, "\(name) value", file: file, line: line)
        let vF = Tensor<Float>.uniform(yf.shape, using: &rng) * 2 - 1
        let gf = gradients(of: (yf * Variable(vF)).sum(), wrt: xf)
        let gd = gradients(of: (yd * Variable(vF.converted(to: Double.self))).sum(), wrt: xd)
        for i in shapes.indices {
            assertClose(gf[i].value, gd[i].value, "\(name) gradient \(i)", file: file, line: line)
        }
    }

    func testMatmul() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            compare("matmul \(ta) \(tb)", [ta ? [5, 3] : [3, 5], tb ? [7, 5] : [5, 7]],
                    { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) },
                    { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) })
        }
    }

    func testLogSoftmax() {
        compare("logSoftmax", [[4, 9]], range: 5, { $0[0].logSoftmax() }, { $0[0].logSoftmax() })
    }

    func testSoftplus() {
        compare("softplus", [[5, 7]], range: 8, { $0[0].softplus() }, { $0[0].softplus() })
    }

    func testSigmoid() {
        compare("sigmoid", [[5, 7]], range: 8, { $0[0].sigmoid() }, { $0[0].sigmoid() })
    }

    /// A chain through all four, so Float errors compounding across ops stay within bounds too.
    func testComposite() {
        compare("composite", [[3, 4], [4, 6]],
                { matmul($0[0], $0[1]).sigmoid().softplus().logSoftmax() },
                { matmul($0[0], $0[1]).sigmoid().softplus().logSoftmax() })
    }
}
