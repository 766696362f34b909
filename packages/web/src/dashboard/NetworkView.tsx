/** The network at a glance: nodes by device kind, capacity and use over time, tasks per second. */
import { CategoryScale, Chart as ChartJS, Filler, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { Line } from 'react-chartjs-2';
import { errorText } from '../shared/client.js';
import { formatDuration, formatNumber } from '../shared/format.js';
import { usePoll } from './hooks.js';
import { LedgerPanel } from './LedgerPanel.js';
import { DEVICE_KINDS, getStats, type NetworkStats } from './stats.js';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, Filler, Tooltip, Legend);

const COLORS = { capacity: '#3b82f6', busy: '#22c55e', rate: '#16a34a', queued: '#f59e0b' };

export function NetworkView() {
  const { data: stats, error } = usePoll((signal) => getStats(signal), 2000);
  return (
    <section>
      <h1>Network</h1>
      {error !== undefined && <div className="notice bad">Could not read the network's state: {errorText(error)}</div>}
      {!stats ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <Tiles stats={stats} />
          <div className="panel">
            <h2>Nodes online by device kind</h2>
            <div className="tiles" style={{ marginBottom: 0 }}>
              {DEVICE_KINDS.map((k) => (
                <div className="tile" key={k}>
                  <div className="label">{k}</div>
                  <div className="value" data-testid={`kind-${k}`}>
                    {stats.nodes.byKind[k] ?? 0}
                  </div>
                </div>
              ))}
            </div>
          </div>
          <Charts stats={stats} />
        </>
      )}
      <LedgerPanel />
    </section>
  );
}

function Tiles({ stats }: { stats: NetworkStats }) {
  const util = stats.nodes.slots > 0 ? Math.round((stats.nodes.busy / stats.nodes.slots) * 100) : 0;
  return (
    <div className="tiles">
      <Tile label="Nodes online" value={formatNumber(stats.nodes.online)} hint={`${formatNumber(stats.nodes.known)} known`} testId="nodes-online" />
      <Tile label="Capacity" value={formatNumber(stats.nodes.slots)} hint="task slots online" />
      <Tile label="Utilization" value={`${util}%`} hint={`${formatNumber(stats.nodes.busy)} slots busy`} />
      <Tile
        label="Tasks / s"
        value={formatNumber(stats.tasks.perSecond, 1)}
        hint={`${formatNumber(stats.tasks.finished)} finished in all`}
        testId="tasks-per-second"
      />
      <Tile label="Queued" value={formatNumber(stats.tasks.queued)} hint="tasks waiting for a node" />
      <Tile label="Active jobs" value={formatNumber(stats.jobs.active)} hint={`${formatNumber(stats.tasks.running)} tasks leased`} />
    </div>
  );
}

function Tile({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div className="tile">
      <div className="label">{label}</div>
      <div className="value" data-testid={testId}>
        {value}
      </div>
      {hint && <div className="hint">{hint}</div>}
    </div>
  );
}

function Charts({ stats }: { stats: NetworkStats }) {
  const labels = stats.history.map((s) => new Date(s.t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false as const,
    interaction: { mode: 'index' as const, intersect: false },
    elements: { point: { radius: 0 }, line: { tension: 0.25, borderWidth: 2 } },
    scales: {
      x: { ticks: { maxTicksLimit: 6, maxRotation: 0 }, grid: { display: false } },
      y: { beginAtZero: true, ticks: { precision: 0 } },
    },
    plugins: { legend: { position: 'bottom' as const, labels: { boxWidth: 12 } } },
  };
  return (
    <div className="charts">
      <div className="panel">
        <h2>Capacity and utilization</h2>
        <div className="chart-box">
          <Line
            aria-label="Task slots online and busy over the last minutes"
            role="img"
            options={common}
            data={{
              labels,
              datasets: [
                { label: 'slots online', data: stats.history.map((s) => s.slots), borderColor: COLORS.capacity, backgroundColor: 'transparent' },
                { label: 'slots busy', data: stats.history.map((s) => s.busy), borderColor: COLORS.busy, backgroundColor: 'rgba(34,197,94,0.15)', fill: true },
              ],
            }}
          />
        </div>
      </div>
      <div className="panel">
        <h2>Throughput</h2>
        <div className="chart-box">
          <Line
            aria-label="Tasks finished per second and tasks queued over the last minutes"
            role="img"
            options={{
              ...common,
              scales: {
                x: common.scales.x,
                y: { beginAtZero: true, title: { display: true, text: 'tasks/s' } },
                y1: {
                  beginAtZero: true,
                  position: 'right' as const,
                  grid: { drawOnChartArea: false },
                  ticks: { precision: 0 },
                  title: { display: true, text: 'queued' },
                },
              },
            }}
            data={{
              labels,
              datasets: [
                { label: 'tasks/s', data: stats.history.map((s) => s.tasksPerSecond), borderColor: COLORS.rate, backgroundColor: 'transparent', yAxisID: 'y' },
                { label: 'queued', data: stats.history.map((s) => s.queued), borderColor: COLORS.queued, backgroundColor: 'transparent', yAxisID: 'y1' },
              ],
            }}
          />
        </div>
        <p className="small muted">
          Sampled every {formatDuration(stats.sampleMs)} by the gateway; the last {formatDuration(stats.history.length * stats.sampleMs)}.
        </p>
      </div>
    </div>
  );
}
