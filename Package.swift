// swift-tools-version:6.2
// DiscreteGrad: gradient estimators for discrete latent variables, on a CBLAS-backed autodiff core.
import PackageDescription

// Cross-module optimisation: the estimators and the model are generic code calling Autodiff's generic ops
// from other modules; without it those calls run unspecialised (metadata lookups and witness-table
// arithmetic per op). Whole-process binary VAE runs: REBAR 0.954x, RELAX 0.945x the time without it. Tools version 6.2
// is what lets a package that depends on this one accept the flag.
let optimised: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "DiscreteGrad",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DiscreteGrad", targets: ["DiscreteGrad"]),
        .executable(name: "vae-train", targets: ["vae-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System BLAS (OpenBLAS through Debian's alternatives, or reference BLAS). Only BLAS.swift imports it.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        // zlib for reading gzip-compressed IDX / amat files directly.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Vectorised kernels in C: SLEEF transcendentals (Debian libsleef-dev), fused Bernoulli NLL, Adam/RAdam;
        // the instruction set (AVX-512F, AVX2+FMA, scalar) is picked at run time. libxsmm (Debian libxsmm-dev,
        // a static library) generates kernels for small matrix products.
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("sleef"), .linkedLibrary("xsmm"), .linkedLibrary("dl"),
                                                   .linkedLibrary("rt"), .linkedLibrary("m")]),
        .target(name: "Autodiff", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimised),
        .target(name: "VAE", dependencies: ["Autodiff", "CZlib", "CKernels"], swiftSettings: optimised),
        // Estimators reuse the VAE module's layers (NVIL baselines, RELAX control-variate nets) and latent spec.
        .target(name: "Estimators", dependencies: ["Autodiff", "VAE"], swiftSettings: optimised),
        // CZlib: CRC-32 for .npz exports and deflate for PNG pictures of a model.
        .target(name: "Training", dependencies: ["Autodiff", "VAE", "Estimators", "CZlib"], swiftSettings: optimised),
        // The experiments beside training: gradient diagnostics (analyze), throughput (bench), polynomial
        // programming (poly) and the REBAR/RELAX toy (toy).
        .target(name: "Experiments", dependencies: ["Autodiff", "VAE", "Estimators", "Training"], swiftSettings: optimised),
        .target(name: "DiscreteGrad", dependencies: ["Autodiff", "VAE", "Estimators", "Training", "Experiments"], swiftSettings: optimised),
        .executableTarget(name: "vae-train", dependencies: [
            "Training", "Experiments",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimised),

        // MARK: - Unit test bundles
        // What the suites share (package paths, scratch folders that clean up, small run configs, running
        // vae-train and scripts, the leak check, k-SE statistical bounds, the finite-difference tolerance):
        // a library target, as swift-numerics' _TestSupport is, that only the test bundles depend on.
        .target(name: "TestSupport", dependencies: ["Training", "CKernels"], path: "Tests/TestSupport"),
        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff", "CKernels", "TestSupport"]),
        .testTarget(name: "VAETests", dependencies: ["VAE", "CKernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EstimatorsTests", dependencies: ["Estimators", "VAE", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Experiments", "CZlib", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
