import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// The scaling model (docs/scaling.md): its fit recovers the parameters that made the data, and
/// its parts behave as the design says.
final class ScalingModelTests: XCTestCase {
    func model() -> ScalingModel {
        ScalingModel(
            cores: 2, alpha: 2e-6, beta: 5e-10, secondsPerToken: 2e-5, tokensPerTask: 2_000, replicatedFixed: 0,
            replicatedPerTask: 6e-4, rowsPerTask: 750, vocabulary: 40_000, embedding: 50, denseShared: 2_260,
            taskParameters: 80_000, checkpointEvery: 0)
    }

    func testFitRecoversAlphaBetaSigmaFromTheirOwnTimes() {
        let truth = (alpha: 3e-6, beta: 2e-10, sigma: 4e-5)
        var samples: [(ranks: Int, bytes: Double, seconds: Double)] = []
        for p in [2, 4, 8, 16] {
            for b in [8.0, 4096, 262_144, 8_388_608] {
                samples.append((p, b, ScalingModel.allreduceTime(ranks: p, bytes: b, cores: 2, fit: truth)))
            }
        }
        let f = ScalingModel.fitAllreduce(samples, cores: 2)
        XCTAssertEqual(f.alpha, truth.alpha, accuracy: truth.alpha * 1e-6)
        XCTAssertEqual(f.beta, truth.beta, accuracy: truth.beta * 1e-6)
        XCTAssertEqual(f.sigma, truth.sigma, accuracy: truth.sigma * 1e-6)
        // Without oversubscribed samples σ has no data and stays 0.
        let g = ScalingModel.fitAllreduce(samples.filter { $0.ranks <= 2 }, cores: 2)
        XCTAssertEqual(g.sigma, 0)
    }

    func testStepParts() {
        let m = model()
        let one = m.step(ranks: 1, tasks: 16)
        XCTAssertEqual(one.allreduce, 0)
        XCTAssertEqual(one.compute, 16 * 2_000 * 2e-5, accuracy: 1e-12)
        XCTAssertEqual(one.replicated, 16 * 6e-4, accuracy: 1e-12)
        // Up to the cores, compute divides; beyond, oversubscribed ranks take turns.
        XCTAssertEqual(m.step(ranks: 2, tasks: 16).compute, one.compute / 2, accuracy: 1e-12)
        XCTAssertEqual(m.step(ranks: 4, tasks: 16).compute, one.compute / 2, accuracy: 1e-12)
        XCTAssertEqual(m.step(ranks: 4, tasks: 16).replicated, 2 * one.replicated, accuracy: 1e-12)
        XCTAssertEqual(m.step(ranks: 4, tasks: 16, hosts: 2).compute, one.compute / 4, accuracy: 1e-12)
        // The touched rows grow with the tasks and saturate at the vocabulary.
        XCTAssertEqual(m.touchedRows(tasks: 1), 750, accuracy: 1e-9)
        XCTAssertLessThan(m.touchedRows(tasks: 1_024), 40_000)
        XCTAssertGreaterThan(m.touchedRows(tasks: 1_024), 39_999)
        // More ranks than tasks: the split tasks' gradients join the buffer.
        XCTAssertEqual(
            m.bufferDoubles(tasks: 4, ranks: 8) - m.bufferDoubles(tasks: 4, ranks: 4), 4 * 80_000, accuracy: 1e-6)
    }
}
