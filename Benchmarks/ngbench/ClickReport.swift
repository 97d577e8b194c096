import Foundation
import NGTrain

/// `ngbench train --model dlrm`'s table: each run's test log-loss, its excess over the best
/// possible (the teacher's, `ClickLog.bayesLogLoss`), and its AUC.
enum ClickReport {
    struct Row {
        let optimizer: String
        let seed: UInt64
        let metrics: ClickMetrics
    }

    static func print(_ rows: [Row], log: ClickLog) {
        let rate = log.clickRate
        let constant = -(rate * Foundation.log(rate) + (1 - rate) * Foundation.log(1 - rate))
        Swift.print()
        Swift.print(
            "click log: \(log.train.count) training and \(log.test.count) test rows, click rate \(Report.format(100 * rate, 1))%; "
                + "test log-loss of the teacher's probabilities (the best possible) \(Report.format(log.bayesLogLoss, 4)), "
                + "of the click rate alone \(Report.format(constant, 4))")
        Report.printTable(
            header: ["optimizer", "seed", "test log-loss", "excess over the best", "AUC"],
            rows: rows.map { row in
                [row.optimizer, "\(row.seed)", Report.format(row.metrics.logLoss, 4),
                 Report.format(row.metrics.logLoss - log.bayesLogLoss, 4), Report.format(row.metrics.auc, 4)]
            })
    }
}
