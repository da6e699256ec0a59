// The churn dashboard's charts (Chart.js) and the period filter. Data comes from the json_script
// element #dashboard-data (winback/dashboard/charts.py); every chart's numbers are also in a table.
(() => {
  const showPeriodFields = (form) => {
    const kind = form.querySelector("[data-period-kind]").value;
    form.querySelectorAll("[data-period-field]").forEach((field) => {
      field.hidden = field.dataset.periodField !== kind;
    });
  };

  const formatters = (currency) => {
    const locale = document.documentElement.lang || undefined;
    let money;
    try {
      money = new Intl.NumberFormat(locale, { style: "currency", currency, maximumFractionDigits: 0 });
    } catch {
      const plain = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
      money = { format: (value) => `${plain.format(value)} ${currency}` };
    }
    const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
    return { money, compact };
  };

  // Clicking a bar opens the list of customers or cases behind it.
  const drillOnClick = (urlsFor) => (event, elements) => {
    if (!elements.length) return;
    const { datasetIndex, index } = elements[0];
    const url = urlsFor(datasetIndex)[index];
    if (url) window.location.assign(url);
  };

  const base = (extra) => ({
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "nearest", intersect: true },
    ...extra,
  });

  const draw = (data) => {
    const Chart = window.Chart;
    const { money, compact } = formatters(data.currency);
    const L = data.labels;
    const m = data.monthly;
    const charts = {};

    const monthly = document.getElementById("chart-monthly");
    if (monthly) {
      charts.monthly = new Chart(monthly, {
        data: {
          labels: m.months,
          datasets: [
            { type: "bar", label: L.lost_revenue, data: m.lost_revenue, yAxisID: "money", backgroundColor: "#f1aeb5" },
            { type: "line", label: L.churn_rate, data: m.churn_rate, yAxisID: "rate", borderColor: "#dc3545", backgroundColor: "#dc3545", spanGaps: true },
          ],
        },
        options: base({
          onClick: drillOnClick(() => m.urls),
          scales: {
            money: { position: "left", beginAtZero: true, ticks: { callback: (v) => compact.format(v) } },
            rate: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: (v) => `${v}%` } },
          },
          plugins: { tooltip: { callbacks: { label: (c) => (c.dataset.yAxisID === "rate" ? `${c.dataset.label}: ${c.parsed.y}%` : `${c.dataset.label}: ${money.format(c.parsed.y)}`) } } },
        }),
      });
    }

    const kinds = document.getElementById("chart-kinds");
    if (kinds) {
      charts.kinds = new Chart(kinds, {
        type: "bar",
        data: {
          labels: m.months,
          datasets: [
            { label: L.passive, data: m.passive, backgroundColor: "#6c757d" },
            { label: L.active, data: m.active, backgroundColor: "#fd7e14" },
          ],
        },
        options: base({
          onClick: drillOnClick((dataset) => (dataset === 0 ? m.passive_urls : m.active_urls)),
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
        }),
      });
    }

    const reasons = document.getElementById("chart-reasons");
    if (reasons) {
      const r = data.reasons;
      const cumulative = (values) => {
        const total = values.reduce((a, b) => a + b, 0) || 1;
        let running = 0;
        return values.map((v) => Math.round(((running += v) / total) * 1000) / 10);
      };
      const order = (key) => r[key].map((v, i) => i).sort((a, b) => r[key][b] - r[key][a]);
      const build = (key) => {
        const idx = order(key);
        return {
          labels: idx.map((i) => r.labels[i]),
          values: idx.map((i) => r[key][i]),
          urls: idx.map((i) => r.urls[i]),
        };
      };
      let current = build("revenue");
      const chart = new Chart(reasons, {
        data: {
          labels: current.labels,
          datasets: [
            { type: "bar", label: L.by_revenue, data: current.values, yAxisID: "y", backgroundColor: "#0d6efd" },
            { type: "line", label: L.cumulative, data: cumulative(current.values), yAxisID: "share", borderColor: "#212529", backgroundColor: "#212529" },
          ],
        },
        options: base({
          onClick: drillOnClick(() => current.urls),
          scales: {
            y: { beginAtZero: true, ticks: { callback: (v) => compact.format(v) } },
            share: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, ticks: { callback: (v) => `${v}%` } },
          },
        }),
      });
      charts.reasons = chart;
      document.querySelectorAll("[data-pareto]").forEach((button) => {
        button.addEventListener("click", () => {
          const key = button.dataset.pareto;
          current = build(key);
          chart.data.labels = current.labels;
          chart.data.datasets[0].data = current.values;
          chart.data.datasets[0].label = key === "revenue" ? L.by_revenue : L.by_count;
          chart.data.datasets[1].data = cumulative(current.values);
          chart.update();
          document.querySelectorAll("[data-pareto]").forEach((other) => {
            other.classList.toggle("active", other === button);
            other.setAttribute("aria-pressed", String(other === button));
          });
        });
      });
    }

    const funnel = document.getElementById("chart-funnel");
    if (funnel) {
      charts.funnel = new Chart(funnel, {
        type: "bar",
        data: { labels: data.funnel.labels, datasets: [{ label: L.customers, data: data.funnel.counts, backgroundColor: "#198754" }] },
        options: base({ indexAxis: "y", onClick: drillOnClick(() => data.funnel.urls), plugins: { legend: { display: false } } }),
      });
    }

    const actions = document.getElementById("chart-actions");
    if (actions) {
      charts.actions = new Chart(actions, {
        type: "bar",
        data: { labels: data.actions.labels, datasets: [{ label: L.lost_revenue, data: data.actions.revenue, backgroundColor: "#6610f2" }] },
        options: base({
          indexAxis: "y",
          plugins: { legend: { display: false }, tooltip: { callbacks: { afterLabel: (c) => data.actions.status[c.dataIndex] } } },
          scales: { x: { ticks: { callback: (v) => compact.format(v) } } },
        }),
      });
    }
    window.winbackDashboardCharts = charts; // for the browser test: charts drawn, legends right
  };

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector(".dash-filters");
    if (form) {
      showPeriodFields(form);
      form.querySelector("[data-period-kind]").addEventListener("change", () => showPeriodFields(form));
    }
    const source = document.getElementById("dashboard-data");
    if (source && typeof window.Chart !== "undefined") draw(JSON.parse(source.textContent));
  });
})();
