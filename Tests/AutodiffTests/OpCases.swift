// The differentiable ops under test, each on small concrete inputs. FirstOrderTests and
// SecondOrderTests run the same cases, one test method per op.
import Autodiff

enum OpCases {
    static let plain = Domain.uniform(-1, 1)
    /// Denominators, kinks and signs: magnitudes kept well away from zero.
    static let nonzero = Domain.awayFromZero(0.5, 1.5)
    static let positive = Domain.uniform(0.5, 2)

    /// Shape pairs covering same shape, row and column broadcasting, rank extension and rank-0 operands.
    static let broadcastPairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]), ([3, 4], [4]), ([4], [3, 4]), ([3, 4], [3, 1]), ([3, 1], [3, 4]),
        ([2, 3, 4], [3, 1]), ([3, 1], [2, 3, 4]), ([], [3, 4]), ([3, 4], []),
    ]

    /// A binary op on every broadcast pair, plus the `Variable op S` and `S op Variable` overloads.
    static func binary(_ name: String, rhs: Domain, second: SecondOrder,
                       scalarLeft: SecondOrder, scalarRight: SecondOrder,
                       _ op: @escaping (Variable<Double>, Variable<Double>) -> Variable<Double>,
                       tensorScalar: @escaping (Variable<Double>, Double) -> Variable<Double>,
                       scalarTensor: @escaping (Double, Variable<Double>) -> Variable<Double>) -> [OpCase] {
        broadcastPairs.map { a, b in
            OpCase("\(name) \(a)∘\(b)", [(a, plain), (b, rhs)], second: second) { op($0[0], $0[1]) }
        } + [
            OpCase("\(name) [3,4]∘S", [([3, 4], plain)], second: scalarRight) { tensorScalar($0[0], 1.7) },
            OpCase("\(name) S∘[3,4]", [([3, 4], rhs)], second: scalarLeft) { scalarTensor(-0.8, $0[0]) },
        ]
    }

    static var add: [OpCase] {
        binary("add", rhs: plain, second: .zero, scalarLeft: .zero, scalarRight: .zero,
               { $0 + $1 }, tensorScalar: { $0 + $1 }, scalarTensor: { $0 + $1 })
    }
    static var sub: [OpCase] {
        binary("sub", rhs: plain, second: .zero, scalarLeft: .zero, scalarRight: .zero,
               { $0 - $1 }, tensorScalar: { $0 - $1 }, scalarTensor: { $0 - $1 })
    }
    static var mul: [OpCase] {
        binary("mul", rhs: plain, second: .nonzero, scalarLeft: .zero, scalarRight: .zero,
               { $0 * $1 }, tensorScalar: { $0 * $1 }, scalarTensor: { $0 * $1 })
    }
    static var div: [OpCase] {
        binary("div", rhs: nonzero, second: .nonzero, scalarLeft: .nonzero, scalarRight: .zero,
               { $0 / $1 }, tensorScalar: { $0 / $1 }, scalarTensor: { $0 / $1 })
    }

    static func unary(_ name: String, _ domain: Domain, second: SecondOrder,
                      _ op: @escaping (Variable<Double>) -> Variable<Double>) -> [OpCase] {
        [OpCase("\(name) [3,4]", [([3, 4], domain)], second: second) { op($0[0]) },
         OpCase("\(name) [2,3,5]", [([2, 3, 5], domain)], second: second) { op($0[0]) }]
    }

    static var neg: [OpCase] { unary("neg", plain, second: .zero) { -$0 } }
    static var exp: [OpCase] { unary("exp", plain, second: .nonzero) { $0.exp() } }
    static var log: [OpCase] { unary("log", positive, second: .nonzero) { $0.log() } }
    static var log1p: [OpCase] { unary("log1p", .uniform(-0.5, 2), second: .nonzero) { $0.log1p() } }
    static var sigmoid: [OpCase] { unary("sigmoid", .uniform(-3, 3), second: .nonzero) { $0.sigmoid() } }
    static var tanh: [OpCase] { unary("tanh", .uniform(-2, 2), second: .nonzero) { $0.tanh() } }
    static var softplus: [OpCase] { unary("softplus", .uniform(-3, 3), second: .nonzero) { $0.softplus() } }
    static var logSigmoid: [OpCase] { unary("logSigmoid", .uniform(-3, 3), second: .nonzero) { $0.logSigmoid() } }
    static var relu: [OpCase] { unary("relu", nonzero, second: .zero) { $0.relu() } }
    static var leakyRelu: [OpCase] {
        unary("leakyRelu(0.01)", nonzero, second: .zero) { $0.leakyRelu() }
            + unary("leakyRelu(0.2)", nonzero, second: .zero) { $0.leakyRelu(slope: 0.2) }
    }
    static var square: [OpCase] { unary("square", plain, second: .nonzero) { $0.square() } }
    static var sqrt: [OpCase] { unary("sqrt", positive, second: .nonzero) { $0.sqrt() } }
    static var abs: [OpCase] { unary("abs", nonzero, second: .zero) { $0.abs() } }
    static var pow: [OpCase] {
        unary("pow(2.5)", positive, second: .nonzero) { $0.pow(2.5) }
            + unary("pow(3)", nonzero, second: .nonzero) { $0.pow(3) }
            + unary("pow(-1.5)", positive, second: .nonzero) { $0.pow(-1.5) }
    }

    static var reshaped: [OpCase] {
        [OpCase("reshaped [3,4]->[2,6]", [([3, 4], plain)], second: .zero) { $0[0].reshaped([2, 6]) },
         OpCase("reshaped [2,3,4]->[4,-1]", [([2, 3, 4], plain)], second: .zero) { $0[0].reshaped([4, -1]) },
         OpCase("reshaped [1]->[]", [([1], plain)], second: .zero) { $0[0].reshaped([]) }]
    }
    static var expanded: [OpCase] {
        [OpCase("expanded [3,1]->[2,3,4]", [([3, 1], plain)], second: .zero) { $0[0].expanded(to: [2, 3, 4]) },
         OpCase("expanded [4]->[3,4]", [([4], plain)], second: .zero) { $0[0].expanded(to: [3, 4]) },
         OpCase("expanded []->[2,2]", [([], plain)], second: .zero) { $0[0].expanded(to: [2, 2]) },
         OpCase("expanded [1,3,1]->[2,3,5]", [([1, 3, 1], plain)], second: .zero) { $0[0].expanded(to: [2, 3, 5]) }]
    }
    static var summed: [OpCase] {
        [OpCase("summed [2,3,4]->[3,1]", [([2, 3, 4], plain)], second: .zero) { $0[0].summed(toShape: [3, 1]) },
         OpCase("summed [3,4]->[4]", [([3, 4], plain)], second: .zero) { $0[0].summed(toShape: [4]) },
         OpCase("summed [3,4]->[1,4]", [([3, 4], plain)], second: .zero) { $0[0].summed(toShape: [1, 4]) },
         OpCase("summed [2,3,4]->[]", [([2, 3, 4], plain)], second: .zero) { $0[0].summed(toShape: []) }]
    }
    static var transposed: [OpCase] {
        [OpCase("transposed [3,5]", [([3, 5], plain)], second: .zero) { $0[0].transposed() },
         OpCase("transposed [1,4]", [([1, 4], plain)], second: .zero) { $0[0].transposed() }]
    }

    static var sum: [OpCase] {
        [OpCase("sum() [3,4]", [([3, 4], plain)], second: .zero) { $0[0].sum() },
         OpCase("sum() [2,3,5]", [([2, 3, 5], plain)], second: .zero) { $0[0].sum() }]
    }
    static var mean: [OpCase] {
        [OpCase("mean() [3,4]", [([3, 4], plain)], second: .zero) { $0[0].mean() },
         OpCase("mean() [2,3,5]", [([2, 3, 5], plain)], second: .zero) { $0[0].mean() }]
    }
    /// Every axis (and a negative one) of a rank-3 tensor, with and without keepingDimensions.
    static var sumAlongAxis: [OpCase] {
        [0, 1, 2, -1].flatMap { axis in
            [false, true].map { keep in
                OpCase("sum(alongAxis: \(axis), keep: \(keep)) [2,3,4]", [([2, 3, 4], plain)], second: .zero) {
                    $0[0].sum(alongAxis: axis, keepingDimensions: keep)
                }
            }
        }
    }
    static var meanAlongAxis: [OpCase] {
        [0, 1, 2, -2].flatMap { axis in
            [false, true].map { keep in
                OpCase("mean(alongAxis: \(axis), keep: \(keep)) [2,3,4]", [([2, 3, 4], plain)], second: .zero) {
                    $0[0].mean(alongAxis: axis, keepingDimensions: keep)
                }
            }
        }
    }

    static var logSoftmax: [OpCase] {
        [OpCase("logSoftmax [3,5]", [([3, 5], .uniform(-2, 2))], second: .nonzero) { $0[0].logSoftmax() },
         OpCase("logSoftmax [2,3,4]", [([2, 3, 4], .uniform(-2, 2))], second: .nonzero) { $0[0].logSoftmax() },
         OpCase("logSoftmax [7]", [([7], .uniform(-2, 2))], second: .nonzero) { $0[0].logSoftmax() }]
    }
    static var softmax: [OpCase] {
        [OpCase("softmax [3,5]", [([3, 5], .uniform(-2, 2))], second: .nonzero) { $0[0].softmax() },
         OpCase("softmax [2,3,4]", [([2, 3, 4], .uniform(-2, 2))], second: .nonzero) { $0[0].softmax() },
         OpCase("softmax [7]", [([7], .uniform(-2, 2))], second: .nonzero) { $0[0].softmax() }]
    }
    static var logSumExp: [OpCase] {
        [[3, 5], [2, 3, 4], [6]].flatMap { shape in
            [false, true].map { keep in
                OpCase("logSumExp(keep: \(keep)) \(shape)", [(shape, .uniform(-2, 2))], second: .nonzero) {
                    $0[0].logSumExp(keepingDimensions: keep)
                }
            }
        }
    }

    /// op(A)·op(B) = [3,5]·[5,2] with A stored as [5,3] when transposed, B as [2,5].
    static var matmul: [OpCase] {
        [false, true].flatMap { ta in
            [false, true].map { tb in
                OpCase("matmul(tA: \(ta), tB: \(tb)) 3x5·5x2", [(ta ? [5, 3] : [3, 5], plain), (tb ? [2, 5] : [5, 2], plain)],
                       second: .nonzero) { Autodiff.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            }
        }
            + [OpCase("matmul 1x1·1x1", [([1, 1], nonzero), ([1, 1], nonzero)], second: .nonzero) { Autodiff.matmul($0[0], $0[1]) }]
    }

    /// x·W + b with the bias inside the gemm, on odd sizes and a single row. Squared, so that the
    /// bias (on which affine itself is linear) sees curvature in the second-order check.
    static var affine: [OpCase] {
        [OpCase("affine² [3,5]·[5,2]+[2]", [([3, 5], plain), ([5, 2], plain), ([2], plain)], second: .nonzero) {
            Autodiff.affine($0[0], $0[1], $0[2]).square()
         },
         OpCase("affine² [1,4]·[4,3]+[3]", [([1, 4], plain), ([4, 3], plain), ([3], plain)], second: .nonzero) {
            Autodiff.affine($0[0], $0[1], $0[2]).square()
         }]
    }

    /// A constant [4, 9] input with 8 nonzeros (22%, so `affine` takes the sparse path) and an all-zero row.
    static let sparseInput = Tensor<Double>(shape: [4, 9], scalars: [
        0, 0.7, 0, 0, 0, 0, -1.2, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0,
        0.4, 0, 0, 0.9, 0, 0, 0, 0, 1.1,
        0, 0, -0.3, 0, 0, 0.8, 0, 0.5, 0,
    ])
    /// The sparse products (`SparseRows`): affine on a mostly-zero constant, and the product and its
    /// transpose directly. Widths 43 (Double) cover a 4-vector slab, a single vector and a scalar tail on
    /// the AVX-512 and AVX2 paths.
    static var sparse: [OpCase] {
        [OpCase("sparse affine² [4,9]·[9,43]+[43]", [([9, 43], plain), ([43], plain)], second: .nonzero) {
            Autodiff.affine(Variable(sparseInput), $0[0], $0[1]).square()
         },
         OpCase("sparse matmul² [4,9]·[9,3]", [([9, 3], plain)], second: .nonzero) {
            Autodiff.matmul(SparseRows(sparseInput), $0[0]).square()
         },
         OpCase("sparseᵀ matmul² [9,4]·[4,43]", [([4, 43], plain)], second: .nonzero) {
            Autodiff.matmul(SparseRows(sparseInput).transposed, $0[0]).square()
         }]
    }

    /// Grey-level targets in [0, 1], as the ReinMax protocol trains on; 17 columns leave a SIMD tail.
    static let targets3x17 = Tensor<Double>(shape: [3, 17], scalars: (0..<51).map { Double(($0 * 37) % 11) / 10 })
    static let targets2x3x4 = Tensor<Double>(shape: [2, 3, 4], scalars: (0..<24).map { Double(($0 * 5) % 7) / 6 })
    static var sigmoidCrossEntropy: [OpCase] {
        [OpCase("sigmoidCrossEntropy [3,17]", [([3, 17], .uniform(-3, 3))], second: .nonzero) {
            $0[0].sigmoidCrossEntropy(targets: targets3x17)
         },
         OpCase("sigmoidCrossEntropy [2,3,4]", [([2, 3, 4], .uniform(-3, 3))], second: .nonzero) {
            $0[0].sigmoidCrossEntropy(targets: targets2x3x4)
         }]
    }
    /// The fused backward as an op of its own (logits and upstream both differentiable), so its
    /// hand-written rule is checked directly, not only through sigmoidCrossEntropy.
    static var sigmoidCrossEntropyGradient: [OpCase] {
        [OpCase("sigmoidCrossEntropyGradient [3,17] g[3]", [([3, 17], .uniform(-3, 3)), ([3], plain)], second: .nonzero) {
            $0[0].sigmoidCrossEntropyGradient(targets: targets3x17, upstream: $0[1])
         }]
    }
    /// That gradient's own fused backward, both outputs, with logits, upstream and row scale all differentiable.
    static var sigmoidCurvature: [OpCase] {
        [OpCase("sigmoidCurvature curvature [3,17] u[3,17] g[3]", [([3, 17], .uniform(-3, 3)), ([3, 17], plain), ([3], plain)],
                second: .nonzero) {
            $0[0].sigmoidCurvature(upstream: $0[1], rowScale: $0[2], targets: nil).curvature!
         },
         OpCase("sigmoidCurvature residual [3,17] u[3,17]", [([3, 17], .uniform(-3, 3)), ([3, 17], plain)], second: .nonzero) {
            $0[0].sigmoidCurvature(upstream: $0[1], rowScale: nil, targets: targets3x17).residual!
         },
         OpCase("sigmoidCurvature both [2,3,4]", [([2, 3, 4], .uniform(-3, 3)), ([2, 3, 4], plain), ([2, 3], plain)],
                second: .nonzero) {
            let (c, r) = $0[0].sigmoidCurvature(upstream: $0[1], rowScale: $0[2], targets: targets2x3x4)
            return c! * r!
         }]
    }

    /// Σ_k w_k softmax((x + sg(z_k − x))/τ) at a fixed point x₀ with z = x₀ + s: its derivative there is
    /// that of x ↦ Σ_k w_k softmax((x + s_k)/τ), whose finite differences are the reference (the fused
    /// op's own value does not move with x: the shift z − x is detached).
    static let mixtureX0 = Tensor<Double>(shape: [2, 2, 3], scalars: (0..<12).map { Double(($0 * 5) % 9) / 3 - 1.2 })
    static let mixtureShift = Tensor<Double>(shape: [6, 2, 3], scalars: (0..<36).map { Double(($0 * 7) % 13) / 4 - 1.5 })
    static var softmaxMixture: [OpCase] {
        let z = mixtureX0.reshaped([1, 2, 2, 3]).expanded(to: [3, 2, 2, 3]).reshaped([6, 2, 3]) + mixtureShift
        return [OpCase("softmaxMixture K=3 [2,2,3]", inputs: [mixtureX0], second: .nonzero, reference: {
            let xK = $0[0].reshaped([1, 2, 2, 3]).expanded(to: [3, 2, 2, 3]).reshaped([6, 2, 3])
            let y = ((xK + Variable(mixtureShift)) / 0.7).softmax().reshaped([3, 2, 2, 3])
            return (y * Variable(Tensor(shape: [3, 1, 1, 1], scalars: [0.5, 0.5, -1]))).sum(alongAxis: 0)
        }) { $0[0].softmaxMixture(shifted: z, weights: [0.5, 0.5, -1], temperature: 0.7) }]
    }

    static let mask34 = Tensor<Double>(shape: [3, 4], scalars: [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0])
    static var select: [OpCase] {
        [OpCase("select mask[3,4] [3,4] [3,4]", [([3, 4], plain), ([3, 4], plain)], second: .zero) {
            Variable.select(mask34, $0[0], $0[1])
         },
         OpCase("select mask[3,4] [3,4] [4]", [([3, 4], plain), ([4], plain)], second: .zero) {
            Variable.select(mask34, $0[0], $0[1])
         },
         OpCase("select mask[3,1] [1,4] [3,4]", [([1, 4], plain), ([3, 4], plain)], second: .zero) {
            Variable.select(Tensor(shape: [3, 1], scalars: [0, 1, 0]), $0[0], $0[1])
         }]
    }

    /// Concatenation, row slices and zero padding along the first axis: linear on their own, and inside a
    /// nonlinear composite so second order runs through their backward rules.
    static var rows: [OpCase] {
        [OpCase("concatenated [2,3] [1,3] [3,3]", [([2, 3], plain), ([1, 3], plain), ([3, 3], plain)], second: .zero) {
            Variable.concatenated([$0[0], $0[1], $0[2]])
         },
         OpCase("sliced rows 1..<3 of [4,2,3]", [([4, 2, 3], plain)], second: .zero) { $0[0].sliced(rows: 1..<3) },
         OpCase("padded 2 before 1 after [3,4]", [([3, 4], plain)], second: .zero) { $0[0].padded(rowsBefore: 2, rowsAfter: 1) },
         OpCase("composite concat/slice/pad [2,3] [3,3]", [([2, 3], plain), ([3, 3], plain)], second: .nonzero) {
            let joined = Variable.concatenated([$0[0].square(), $0[1].exp()])             // [5, 3]
            return (joined.sliced(rows: 1..<4) * $0[1]).sigmoid().padded(rowsBefore: 1, rowsAfter: 2)
         }]
    }

    /// The fused conditional logistic draw: codes of both signs, uniforms near 0, in the middle and near 1.
    static let logisticCode = Tensor<Double>(shape: [3, 5], scalars: (0..<15).map { Double(($0 * 7) % 3 == 0 ? 1 : 0) })
    static let logisticUniforms = Tensor<Double>(shape: [3, 5], scalars: (0..<15).map { [0.02, 0.3, 0.5, 0.77, 0.98][$0 % 5] })
    static var conditionalLogistic: [OpCase] {
        [OpCase("conditionalLogistic [3,5]", [([3, 5], .uniform(-3, 3))], second: .nonzero) {
            $0[0].conditionalLogistic(code: logisticCode, uniforms: logisticUniforms)
         }]
    }

    /// The fused Bernoulli KL terms, logits [3,17] (a SIMD tail) against prior logits [17], both differentiable.
    static var bernoulliKL: [OpCase] {
        [OpCase("bernoulliKLTerms [3,17] prior[17]", [([3, 17], .uniform(-3, 3)), ([17], .uniform(-2, 2))], second: .nonzero) {
            $0[0].bernoulliKLTerms(prior: $0[1])
         }]
    }

    static let rowIndices = Tensor<Double>(shape: [3], scalars: [4, 0, 2])
    static let gridIndices = Tensor<Double>(shape: [2, 3], scalars: [3, 0, 1, 1, 3, 2])
    static var gathered: [OpCase] {
        [OpCase("gathered [3,5] by [3]", [([3, 5], plain)], second: .zero) { $0[0].gathered(indices: rowIndices) },
         OpCase("gathered [2,3,4] by [2,3]", [([2, 3, 4], plain)], second: .zero) { $0[0].gathered(indices: gridIndices) },
         // A nonlinear consumer, so the second-order check sees nonzero curvature through the gather.
         OpCase("gathered(exp) [3,5]", [([3, 5], plain)], second: .nonzero) { $0[0].exp().gathered(indices: rowIndices) }]
    }
    static var scattered: [OpCase] {
        [OpCase("scattered [3] to [3,5]", [([3], plain)], second: .zero) { $0[0].scattered(indices: rowIndices, classes: 5) },
         OpCase("scattered [2,3] to [2,3,4]", [([2, 3], plain)], second: .zero) { $0[0].scattered(indices: gridIndices, classes: 4) },
         OpCase("scattered(square) [3]", [([3], plain)], second: .nonzero) { $0[0].square().scattered(indices: rowIndices, classes: 5) }]
    }

    /// Value: a hard threshold; gradient: the sigmoid surrogate's. Finite differences go through the surrogate.
    static var straightThrough: [OpCase] {
        [OpCase("straightThrough(step, sigmoid) [3,4]", [([3, 4], .uniform(-2, 2))], second: .nonzero,
                reference: { $0[0].sigmoid() }) {
            Variable.straightThrough(value: $0[0].value.greater(Tensor(0)), surrogate: $0[0].sigmoid())
         },
         OpCase("straightThrough(onehot argmax, softmax) [3,5]", [([3, 5], .uniform(-2, 2))], second: .nonzero,
                reference: { $0[0].softmax() }) {
            Variable.straightThrough(value: Tensor.oneHot(indices: $0[0].value.argmax(), classes: 5), surrogate: $0[0].softmax())
         }]
    }

    /// A constant one-hot times a differentiable factor: the one-hot contributes no gradient of its own.
    static var oneHot: [OpCase] {
        [OpCase("oneHot * exp(x) [3,5]", [([3, 5], plain)], second: .nonzero) {
            Variable.oneHot(indices: rowIndices, classes: 5) * $0[0].exp()
         },
         OpCase("oneHot + x [3,5]", [([3, 5], plain)], second: .zero) {
            Variable.oneHot(indices: rowIndices, classes: 5) + $0[0]
         }]
    }

    /// x * detached(x): the gradient is x (the detached factor is a constant), not 2x.
    static var detached: [OpCase] {
        [OpCase("x * detached(x) [3,4]", [([3, 4], nonzero)], second: .zero,
                reference: nil) { $0[0] * $0[0].detached() }]
    }

    /// A composite (a one-layer softmax classifier loss) so rules are checked in combination too.
    static var composite: [OpCase] {
        [OpCase("mlp loss", [([4, 3], plain), ([3, 5], plain), ([5], plain)], second: .nonzero) {
            let hidden = Autodiff.matmul($0[0], $0[1]).tanh() + $0[2]
            return (hidden.logSoftmax().gathered(indices: Tensor(shape: [4], scalars: [0, 4, 2, 2])) * -1).mean()
                + hidden.softplus().square().mean(alongAxis: 0).sum()
         }]
    }
}
