// Small training runs on the committed MNIST subset: the configs the training suites build, and what
// they compare between runs.
import Foundation
import Training

/// Configs of short runs on `data/embedded` with the live progress line off.
public enum TestRuns {
    /// The `data` section: MNIST from the embedded subset, the first `trainLimit` / `testLimit` examples.
    public static func embeddedData(trainLimit: Int, testLimit: Int) -> String {
        #"{"dataset": "mnist", "directory": "\#(TestPaths.embeddedData)", "train_limit": \#(trainLimit), "test_limit": \#(testLimit)}"#
    }

    /// A run config as JSON text. The defaults are the small run of TrainerTests: 400 training examples
    /// in batches of 50 (8 steps an epoch), one hidden layer of 64 units each side, 4 categorical
    /// variables of 8 classes, `st`, 3 epochs, seed 7. `extra` is appended inside the top-level object
    /// (start it with a comma); `data` replaces the whole data section.
    public static func configText(name: String? = "t", data: String? = nil, trainLimit: Int = 400, testLimit: Int = 200,
                                  hidden: Int = 64, latent: String = #"{"variables": 4, "classes": 8}"#,
                                  estimator: String? = #"{"name": "st"}"#,
                                  training: String = #"{"epochs": 3, "batch_size": 50, "seed": 7, "learning_rate": 0.003}"#,
                                  output: String = #"{"progress": "never"}"#, extra: String = "") -> String {
        var sections: [String] = []
        if let name { sections.append(#""name": "\#(name)""#) }
        sections.append(#""data": \#(data ?? embeddedData(trainLimit: trainLimit, testLimit: testLimit))"#)
        sections.append(#""model": {"encoder_hidden": [\#(hidden)], "decoder_hidden": [\#(hidden)]}"#)
        sections.append(#""latent": \#(latent)"#)
        if let estimator { sections.append(#""estimator": \#(estimator)"#) }
        sections.append(#""training": \#(training)"#)
        sections.append(#""output": \#(output)"#)
        return "{" + sections.joined(separator: ", ") + extra + "}"
    }

    /// The smallest runs: 100 training and 50 evaluation examples, batches of 50 (2 steps an epoch), 16
    /// hidden units, a 4x4 latent, one epoch, the default estimator unless one is given.
    public static func tinyConfigText(name: String? = nil, data: String? = nil, latent: String = #"{"shape": "4x4"}"#,
                                      estimator: String? = nil, output: String = #"{"progress": "never"}"#) -> String {
        configText(name: name, data: data, trainLimit: 100, testLimit: 50, hidden: 16, latent: latent, estimator: estimator,
                   training: #"{"epochs": 1, "batch_size": 50}"#, output: output)
    }

    /// Decodes a config's JSON text.
    public static func config(_ text: String) throws -> RunConfig {
        try RunConfig(json: JSON.parse(Data(text.utf8)))
    }

    /// TrainerTests' small run (see `configText`), with `extra` keys.
    public static func smallConfig(testLimit: Int = 200, extra: String = "") throws -> RunConfig {
        try config(configText(testLimit: testLimit, extra: extra))
    }
}

/// A metrics.csv without the timing columns: what two runs of the same config and seed must share exactly.
public func deterministicColumns(_ path: String) throws -> [[String]] {
    let csv = try readCSV(path)
    let keep = csv.header.indices.filter { !EpochMetrics.timingColumns.contains(csv.header[$0]) }
    return [keep.map { csv.header[$0] }] + csv.rows.map { row in keep.map { row[$0] } }
}
