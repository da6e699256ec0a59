// The survey figures page: a bar chart of the reasons customers named, weighted by lost revenue.
// Data comes from the json_script element #reasons-chart-data
// ({labels: [...], values: [...], counts: [...], currency, label}); the table below it has the same figures.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("reasons-chart");
  const source = document.getElementById("reasons-chart-data");
  if (!canvas || !source || typeof window.Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const locale = document.documentElement.lang || undefined;
  let money;
  try {
    money = new Intl.NumberFormat(locale, { style: "currency", currency: data.currency, maximumFractionDigits: 0 });
  } catch {
    // Not an ISO 4217 code: the number and the configured text, as the money filter does.
    const plain = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    money = { format: (value) => `${plain.format(value)} ${data.currency}` };
  }
  const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });

  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        {
          label: data.label,
          data: data.values,
          backgroundColor: "#0d6efd",
          borderRadius: 3,
          maxBarThickness: 28,
        },
      ],
    },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (context) => `${money.format(context.parsed.x)} (${data.counts[context.dataIndex]})`,
          },
        },
      },
      scales: {
        x: { beginAtZero: true, ticks: { callback: (value) => compact.format(value) } },
        y: { grid: { display: false } },
      },
    },
  });
});
