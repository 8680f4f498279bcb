// swift-tools-version:6.0
import PackageDescription

// The BLAS library is a build option chosen through pkg-config: SMTL_BLAS names the package
// (default `openblas`, Debian's libopenblas-dev). `SMTL_BLAS=blis PKG_CONFIG_PATH=$PWD/Sources/CBLAS`
// builds against Debian's BLIS; a newer OpenBLAS built from source is `PKG_CONFIG_PATH=its
// lib/pkgconfig`. docs/performance.md, "Choosing the BLAS library".
let blasPackage = Context.environment["SMTL_BLAS"] ?? "openblas"

let layerNames = ["SMTLSupport", "SMTLModel", "SMTLData", "SMTLDistribution", "SMTLTraining", "SMTLStudy"]
let layers: [Target.Dependency] = layerNames.map { .target(name: $0) }
let optimised: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "smtl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "smtl", targets: ["smtl"]),
        .library(name: "SMTL", targets: layerNames),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
    ],
    targets: [
        // System libraries at the edge: a BLAS (OpenBLAS by default) for every matrix product, zlib for .gz data,
        // OpenMPI for the distributed trainer.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: blasPackage,
            providers: [.apt([blasPackage == "blis" ? "libblis-dev" : "libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        // The memory block's per-token loops in C, compiled for baseline x86-64, AVX2 and AVX-512 and
        // chosen at run time (Numerics/MemoryKernels.swift).
        .target(name: "CKernels", path: "Sources/CKernels"),
        // The library's layers, bottom up; each target imports only those below it (docs/architecture.md).
        // Full cross-module optimisation lets the layers above specialise the generic model code
        // (Model<Float>) as they did when it was one module.
        .target(name: "SMTLSupport", swiftSettings: optimised),
        .target(
            name: "SMTLModel",
            dependencies: ["CBLAS", "CKernels", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: optimised),
        .target(name: "SMTLData", dependencies: ["SMTLModel", "SMTLSupport", "CZlib"], swiftSettings: optimised),
        .target(
            name: "SMTLDistribution", dependencies: ["SMTLData", "SMTLModel", "SMTLSupport", "CMPI"],
            swiftSettings: optimised),
        .target(
            name: "SMTLTraining", dependencies: ["SMTLDistribution", "SMTLData", "SMTLModel", "SMTLSupport", "CZlib"],
            swiftSettings: optimised),
        .target(
            name: "SMTLStudy",
            dependencies: ["SMTLTraining", "SMTLDistribution", "SMTLData", "SMTLModel", "SMTLSupport"],
            swiftSettings: optimised),
        // The options of `smtl train` that override a run config, parsed by ArgumentParser: the command
        // line and the fuzz target share them.
        .target(
            name: "SMTLOptions",
            dependencies: [
                "SMTLDistribution", "SMTLData", "SMTLModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "smtl",
            dependencies: layers + ["SMTLOptions", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Fuzz targets of the input readers (launch/fuzz builds them with libFuzzer; a plain build
        // replays corpus files).
        .executableTarget(
            name: "smtl-fuzz", dependencies: layers + ["SMTLOptions"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Tests: the shared fixtures and process helpers; the fast in-process target (maths, gradient
        // checks, ranks as threads, config and data errors); the integration target (mpirun, netns
        // hosts, Slurm, launch scripts, fuzz builds, other BLAS builds).
        .target(name: "TestSupport", dependencies: layers, path: "Tests/TestSupport"),
        .testTarget(name: "FastTests", dependencies: layers + ["TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: layers + ["TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
