// A picture of a run's model: test inputs above their reconstructions, and samples from the prior,
// as an 8-bit greyscale PNG (grey level = Bernoulli mean), deflated with zlib.
import Autodiff
import CZlib
import Foundation
import VAE

public enum PNG {
    /// An 8-bit greyscale PNG of `pixels` (row-major, `width`×`height`, 0 black … 255 white).
    public static func greyscale(width: Int, height: Int, pixels: [UInt8]) throws -> [UInt8] {
        precondition(pixels.count == width * height, "PNG: \(pixels.count) pixels for \(width)x\(height)")
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width + 1))
        for y in 0..<height { raw.append(0); raw += pixels[(y * width)..<((y + 1) * width)] }  // filter 0 per row
        var length = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(length))
        guard compress2(&compressed, &length, raw, uLong(raw.count), 9) == Z_OK else {
            throw TrainingError.io(path: "(png)", reason: "zlib compression failed")
        }
        func be32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
            return be32(data.count) + body + be32(crc)
        }
        let ihdr = be32(width) + be32(height) + [8, 0, 0, 0, 0]  // depth 8, greyscale, deflate, filter 0, no interlace
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
            + chunk("IDAT", Array(compressed[0..<Int(length)])) + chunk("IEND", [])
    }
}

public enum ModelPicture {
    /// Tiles per row; the picture has 2 rows of inputs and reconstructions, then 2 rows of prior samples.
    public static let columns = 8
    static let side = 28, gap = 2

    /// Width and height in pixels of the picture (`columns` tiles of 28×28 px with 2 px gaps, 6 rows).
    public static var size: (width: Int, height: Int) {
        (columns * (side + gap) + gap, 6 * (side + gap) + gap)
    }

    /// Writes the picture of the run in `directory` to `output` (default `<run>/picture.png`). Rows 1
    /// and 3: the first 16 evaluation-split inputs (binarised as the run trains); rows 2 and 4: the
    /// Bernoulli means of the decoder at one draw of q(z|x) for each; rows 5 and 6: decoder means at
    /// 16 codes drawn from the prior. Draws use `seed`.
    @discardableResult
    public static func write(run directory: String, to output: String? = nil, seed: UInt64 = 1) throws -> String {
        let run = try SavedRun(directory: directory)
        let (_, evalSet) = try Trainer.loadData(run.config.data)
        let model = run.model, n = 2 * columns
        var rng = RandomStream(seed: seed)
        let count = min(n, evalSet.count)
        let x = Tensor<Float>(shape: [count, evalSet.dimension]) { out in
            evalSet.gatherRows(0..<count, into: out)
            if run.config.data.binarization == .dynamic {
                let u = Tensor<Float>.uniform([count, evalSet.dimension], using: &rng)
                u.withUnsafeBufferPointer { run.config.data.binarization.apply(out, uniforms: $0) }
            } else {
                run.config.data.binarization.apply(out)
            }
        }
        let (reconstructions, samples) = withoutGradients { () -> (Tensor<Float>, Tensor<Float>) in
            let logits = model.encode(Variable(x))
            let code = model.latent.sample(logits: logits.value, rng: &rng)
            let recon = model.decode(Variable(code)).value.sigmoid()
            let priorLogits: Tensor<Float>
            if let learned = model.priorLogits?.value {
                priorLogits = Tensor(shape: model.latent.logitShape(batch: n)) { out in
                    learned.withUnsafeBufferPointer { p in for i in 0..<out.count { out[i] = p[i % p.count] } }
                }
            } else {
                priorLogits = Tensor(zeros: model.latent.logitShape(batch: n))
            }
            let prior = model.latent.sample(logits: priorLogits, rng: &rng)
            return (recon, model.decode(Variable(prior)).value.sigmoid())
        }
        let (width, height) = size
        var pixels = [UInt8](repeating: 255, count: width * height)
        func tile(_ image: Tensor<Float>, _ index: Int, row: Int, column: Int) {
            let values = image.scalars
            for y in 0..<side {
                for x in 0..<side {
                    let v = min(max(values[index * side * side + y * side + x], 0), 1)
                    pixels[(gap + row * (side + gap) + y) * width + gap + column * (side + gap) + x] = UInt8((v * 255).rounded())
                }
            }
        }
        for i in 0..<count {
            let (block, column) = (i / columns, i % columns)
            tile(x, i, row: 2 * block, column: column)
            tile(reconstructions, i, row: 2 * block + 1, column: column)
        }
        for i in 0..<n { tile(samples, i, row: 4 + i / columns, column: i % columns) }
        let path = output ?? (directory as NSString).appendingPathComponent("picture.png")
        try writeAtomically(Data(try PNG.greyscale(width: width, height: height, pixels: pixels)), to: path)
        return path
    }
}
