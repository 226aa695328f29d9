import Testing
import Storage
@testable import Web

@Suite("Overview chart")
struct ChartTests {
    @Test func theChartHasAScaleAndEveryPointATitle() {
        let series = (0..<7).map { SeriesPoint(start: TestData.midnight + Int64($0) * TestData.day, visitors: $0 * 10, pageviews: $0 == 3 ? 137 : $0 * 12) }
        let chart = Chart(series: series, previous: [], granularity: .day)
        // 137 at most: steps of 50 up to 150, labelled from 0.
        #expect(chart.levels.map(\.label) == ["0", "50", "100", "150"])
        #expect(chart.levels.first?.y == "158.0" && chart.levels.last?.y == "8.0")
        // The highest bar reaches 137/150 of the plot, and says its values on hover.
        #expect(chart.bars[3].label == "2026-11-23: 137 pageviews, 30 visitors" && chart.bars[3].h == String(format: "%.1f", 137.0 / 150 * 150))
        #expect(Chart.step(for: 3) == 1 && Chart.step(for: 9) == 5 && Chart.step(for: 41) == 20 && Chart.step(for: 12_000) == 5000)
        // No data: a scale of one step.
        #expect(Chart(series: [SeriesPoint(start: 0, visitors: 0, pageviews: 0)], previous: [], granularity: .day).levels.map(\.label) == ["0", "1"])
    }
}
