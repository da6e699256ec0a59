// The customer card's monthly revenue chart. Data comes from the json_script element
// #revenue-chart-data ({months: ["2024-05", ...], values: [...], label, currency}).
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("revenue-chart");
  const source = document.getElementById("revenue-chart-data");
  if (!canvas || !source || typeof window.Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const locale = document.documentElement.lang || undefined;
  const monthFormat = new Intl.DateTimeFormat(locale, { month: "short", year: "2-digit", timeZone: "UTC" });
  const labels = data.months.map((month) => {
    const [year, number] = month.split("-").map(Number);
    return monthFormat.format(new Date(Date.UTC(year, number - 1, 1)));
  });
  let money;
  try {
    money = new Intl.NumberFormat(locale, { style: "currency", currency: data.currency });
  } catch {
    // Not an ISO 4217 code: show the number and the configured text, as the money filter does.
    const plain = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    money = { format: (value) => `${plain.format(value)} ${data.currency}` };
  }
  const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });

  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [
        {
          label: data.label,
          data: data.values,
          backgroundColor: data.values.map((value) => (value < 0 ? "#dc3545" : "#0d6efd")),
          borderRadius: 3,
          maxBarThickness: 32,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (context) => money.format(context.parsed.y) } },
      },
      scales: {
        x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } },
        y: { beginAtZero: true, ticks: { callback: (value) => compact.format(value) } },
      },
    },
  });
});
