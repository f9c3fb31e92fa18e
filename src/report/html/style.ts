/** The page's stylesheet (inline: the report is one file that works offline). */
export const CSS = `
:root{--ink:#1d2433;--muted:#667085;--line:#e4e7ec;--bg:#f5f6f8;--card:#fff;--good:#117a4b;--good-bg:#e3f4ea;--bad:#b42318;--bad-bg:#fdecea;--nm:#8a93a6;
--layering:#3d6fd6;--dtk:#e07b24;--kmm:#1f9e89}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14.5px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans","Liberation Sans","DejaVu Sans",Arial,sans-serif;font-variant-numeric:tabular-nums}
header.top{background:linear-gradient(135deg,#17213a,#26365f);color:#fff;padding:28px 0 24px}
.wrap{max-width:1240px;margin:0 auto;padding:0 28px}
header.top h1{margin:0 0 6px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.top .sub{color:#c9d3ea;font-size:14px}
.badges{margin-top:12px;display:flex;gap:8px;flex-wrap:wrap}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12.5px;font-weight:600;background:rgba(255,255,255,.14);color:#fff;border:1px solid rgba(255,255,255,.25)}
.badge.ok{background:#1f8a5a;border-color:#1f8a5a}.badge.warn{background:#c4661f;border-color:#c4661f}.badge.err{background:#b42318;border-color:#b42318}
main{padding:22px 0 48px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 24px 22px;margin:0 0 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
h2{font-size:19px;margin:0 0 4px;font-weight:650;letter-spacing:-.005em}
h3{font-size:15.5px;margin:22px 0 8px;font-weight:630}
p.lead{margin:0 0 14px;color:var(--muted)}
.notice{border-left:4px solid #c4661f;background:#fff6ed;padding:10px 14px;border-radius:6px;margin:0 0 20px}
.notice.lab{border-color:#6172f3;background:#f1f3ff}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top;text-align:left}
thead th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:650;border-bottom:2px solid var(--line);background:#fafbfc}
tbody tr:hover td{background:#fafbff}
table.summary td:first-child{font-weight:620;width:190px}
table.summary th:last-child,table.summary td:last-child{width:130px}
table.summary caption{caption-side:top;text-align:left;color:#555;font-size:13px;padding:0 0 8px}
sup a.fn,sup span.fn{font-size:10.5px;color:#4453c7;text-decoration:none}
ol.verdict{margin:8px 0 0;padding-left:24px;line-height:1.5}
ol.verdict>li{margin:0 0 10px}
ol.verdict ul{list-style:none;padding-left:4px;margin:6px 0 0;font-size:13px}
ol.verdict ul li{margin:3px 0}
ol.verdict code{font-size:11.5px}
ol.footnotes{margin:12px 0 0;padding-left:22px;font-size:12.5px;color:#444;line-height:1.5}
table.summary td{line-height:1.45}
td.num{text-align:right;white-space:nowrap}
.method{display:inline-flex;align-items:center;gap:8px}
.dot{width:10px;height:10px;border-radius:3px;display:inline-block;flex:none}
.nm{color:var(--nm);font-style:italic}
.yes{color:var(--good);font-weight:600}.no{color:var(--bad);font-weight:600}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.pill.completed{background:var(--good-bg);color:var(--good)}.pill.failed{background:var(--bad-bg);color:var(--bad)}.pill.interrupted,.pill.not-run{background:#f2f4f7;color:#475467}
.dur{font-size:11px;color:var(--muted);font-weight:500;text-transform:none;letter-spacing:0}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:20px}
@media (max-width:980px){.grid2{grid-template-columns:1fr}}
figure{margin:0}
.stack{display:flex;flex-direction:column;gap:18px}
table.scenario{table-layout:fixed}
table.scenario col.c-metric{width:31%}
table.scenario td{padding:6px 10px}
details>summary{list-style:none;display:flex;align-items:center;gap:8px}
details>summary::-webkit-details-marker{display:none}
details>summary h3{display:inline;margin:18px 0 8px}
details>summary::before{content:'▸';color:#98a2b3;font-size:13px;margin-top:10px;transition:transform .15s}
details[open]>summary::before{transform:rotate(90deg)}
figcaption{font-weight:630;margin:0 0 8px;font-size:14.5px}
svg.chart,svg.timeline{width:100%;height:auto;display:block;font-family:inherit}
svg text{fill:#344054;font-size:11px}
svg .tick{fill:#98a2b3;font-size:10px}
svg .axis-title{fill:#667085;font-size:10.5px}
svg .group-label,svg .lane-label{font-size:11.5px;font-weight:600;fill:#344054}
svg .lane-sub{font-size:9.5px;fill:#98a2b3}
svg .grid{stroke:#eef0f3;stroke-width:1}
svg .bar-label{font-size:11px;fill:#1d2433;font-weight:600}
svg .bar-label.inside{fill:#fff}
svg .nm-label{font-size:10.5px;fill:#8a93a6;font-style:italic}
svg g.bar:hover rect{filter:brightness(1.08)}
svg .scn-label{font-size:11px;font-weight:650;fill:#1d2433}
svg .scn-failed rect,svg .scn-interrupted rect{stroke-dasharray:4 3}
svg .up rect,svg rect.up{fill:#d7efdf;stroke:#9fd3b1}
svg .down rect,svg rect.down{fill:#eceef2;stroke:#c3c8d2;stroke-dasharray:3 2}
svg .kver{font-size:8.5px;fill:#2f6b47;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
svg .mk-boot circle{fill:#fff;stroke:#475467;stroke-width:1.6}
svg .mk-boot.reboot circle{fill:#475467}
svg .mk-boot-l{fill:#475467}
svg .mk-down line{stroke:#98a2b3;stroke-width:1}
svg .mk-restart path,svg .mk-restart-l{stroke:#d92d20;stroke-width:2.2;fill:none}
svg .mk-fault path,svg .mk-fault-l{fill:#f04438}
svg .mk-manual path,svg .mk-manual-l{fill:#7a5af8}
svg .build rect,svg .build-l{fill:#667085}
svg .build.cached rect{fill:#c0c6d2}
svg .build.failed rect{fill:#d92d20}
svg .canary-down rect,svg .canary-l{fill:#f04438}
svg .canary-ok{fill:#b7e4c7}
svg .trigger line,svg .trigger-l{stroke:#344054;stroke-width:1;stroke-dasharray:2 3}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12.5px;color:#475467;margin:4px 0 10px}
.legend .lg{display:inline-flex;align-items:center;gap:6px}
.tl{margin:14px 0 4px}
.tl h3{margin:10px 0 4px;display:flex;align-items:center;gap:8px}
.features td{font-size:13px}
.features a{color:#3d5bd6;text-decoration:none;font-size:12px;white-space:nowrap}
.features a:hover{text-decoration:underline}
ul.notes{margin:6px 0 14px;padding-left:20px}ul.notes li{margin:3px 0}
.small{font-size:12.5px;color:var(--muted)}
details>summary{cursor:pointer}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.92em;background:#f2f4f7;padding:0 4px;border-radius:4px}
footer{color:var(--muted);font-size:12.5px;text-align:center;padding:8px 0 30px}
`;
