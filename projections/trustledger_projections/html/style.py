"""The pages' stylesheet: inline, system fonts, readable from a 360-px phone to a desktop.

Colours keep WCAG AA contrast (4.5:1 or more for text on its background). Wide tables
scroll inside their own box, never the page; below 640 px a table marked ``cards`` shows
each row as a small card whose cells are labelled by their column (``data-label``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["CSS"]

CSS: Final = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1d2433;background:#fff}
main{max-width:1440px;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .25rem}
a{color:#1d4ed8}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;
overflow-wrap:anywhere}
.meta{color:#4b5563}
.provenance{border:1px solid #cbd2dc;border-radius:6px;padding:.5rem .75rem;background:#f7f8fa;
margin:.75rem 0}
.provenance h2{margin:0 0 .25rem;font-size:1rem;color:#4b5563}
.provenance dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem;margin:0}
.provenance dt{font-weight:600}.provenance dd{margin:0;min-width:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.25rem 0 1rem;font-size:.93rem}
th,td{border:1px solid #cbd2dc;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:0;
cursor:pointer;text-align:inherit}
th button::after{content:" \\2195";color:#6b7280}
th[aria-sort=ascending] button::after{content:" \\25B2";color:#1d2433}
th[aria-sort=descending] button::after{content:" \\25BC";color:#1d2433}
.grid{display:flex;flex-wrap:wrap;gap:0 2rem}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0}
.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#374151}
.filters input,.filters select{font:inherit;padding:.25rem .4rem;border:1px solid #6b7280;
border-radius:4px;min-width:10rem;max-width:100%}
.legend>span{white-space:nowrap;margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th button{white-space:nowrap}td.id,td.t{white-space:nowrap}
.s0{background:#7c3aed}.s1{background:#c2410c}.s2{background:#15803d}.s3{background:#1d4ed8}
svg{max-width:100%;height:auto}
details.shop{border:1px solid #cbd2dc;border-radius:6px;margin:.5rem 0;padding:.25rem .75rem}
details.shop summary{cursor:pointer;font-weight:600}
.reasons{margin:.25rem 0 .5rem 1.25rem;padding:0}
.due{color:#b91c1c;font-weight:600}
@media (max-width:640px){
main{padding:.75rem .75rem 2rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards thead{display:none}table.cards caption{display:block}
table.cards tr{border:1px solid #cbd2dc;border-radius:6px;margin:0 0 .5rem;padding:.25rem 0}
table.cards td{border:0;padding:.1rem .6rem;text-align:left}
table.cards td::before{content:attr(data-label) ": ";font-weight:600;color:#374151}
.filters input,.filters select{min-width:0;width:100%}.filters label{flex:1 1 100%}
}
"""
