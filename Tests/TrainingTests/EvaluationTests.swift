import Autodiff
import Estimators
import Foundation
import Training
import VAE
import XCTest

final class EvaluationTests: XCTestCase {
    /// On a 2×2 latent space log p(x) = logsumexp_z [log p(x|z) + log p(z)] is exact; the IWAE bound
    /// must lie above the exact NLL and approach it as K grows, and the one-sample −ELBO above both.
    func testIWAEBoundBracketsTheExactNLL() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = """
        {"data": {"dataset": "mnist", "directory": "\(root.path)/data/embedded", "train_limit": 100, "test_limit": 40},
         "model": {"encoder_hidden": [16], "decoder_hidden": [16]}, "latent": {"variables": 2, "classes": 2},
         "training": {"epochs": 1, "batch_size": 20}, "evaluation": {"iwae_samples": 4000}, "output": {"progress": "never"}}
        """
        let config = try RunConfig(json: JSON.parse(Data(text.utf8)))
        let dir = NSTemporaryDirectory() + "dg-eval-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try Trainer(config: config, directory: dir, log: { _ in })
        try trainer.run()
        let evaluation = trainer.evaluate()

        // Exact NLL by enumeration over the 4 codes, in Double.
        let test = try DatasetLoader.mnist(directory: root.path + "/data/embedded", split: .test, limit: 40)
        let x = Tensor<Float>(shape: [40, 784], scalars: test.pixels)
        let codes: Tensor<Float> = ExactExpectation.allCodes(.categorical(2, 2))
        var exact = 0.0
        withoutGradients {
            for b in 0..<40 {
                let xb = Tensor<Float>(shape: [1, 784], scalars: Array(test.pixels[(b * 784)..<((b + 1) * 784)]))
                let logLikelihood = trainer.model.reconstructionNLL(code: Variable(codes), x: xb).value.scalars.map { -Double($0) }
                let terms = logLikelihood.map { $0 + 2 * Foundation.log(0.5) }
                let m = terms.max()!
                exact -= m + Foundation.log(terms.reduce(0) { $0 + Foundation.exp($1 - m) })
            }
        }
        exact /= 40
        _ = x
        let iwae = try XCTUnwrap(evaluation.iwae)
        XCTAssertGreaterThanOrEqual(iwae, exact - 1e-3, "the IWAE bound cannot beat the exact NLL")
        XCTAssertEqual(iwae, exact, accuracy: 0.05, "with K = 4000 samples over 4 codes the bound is tight")
        XCTAssertGreaterThan(evaluation.loss, iwae, "the one-sample −ELBO is a looser bound")
    }
}
