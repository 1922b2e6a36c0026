-- The Expatriates Strategy (Jordan): four goals, nine key performance
-- indicators.  Titles are the strategy's own, word for word.
--
-- kpi { ... } keys:
--   id, goal            the KPI's number and its goal
--   title_ar, title_en  shown on the dashboard and in mail
--   unit                what the figure counts ("%", "services", "JOD", ...)
--   direction           "higher" (default) or "lower" is better
--   period              "quarter" (default), "month" or "year": the KPI's own period
--   indicator           the C plugin or Lua script that computes it (see `mizan plugins`);
--                       leave it out for a KPI that people report (POST /api/v1/kpis/ID/values)
--   params              handed to the indicator
--   owner               { name, email, lang = "ar" | "en" }: who hears when it is missed
--   cumulative          true when the figure grows through its period (a count, a sum):
--                       its forecast is the run rate; otherwise the recent trend
--   managers            { { name, email, lang }, ... }: also hear of it
--   target              default targets per period: { quarter = ..., year = ..., warn = 0.1,
--                       split = true }; a number is "at least" ("at most" for a lower-is-
--                       better KPI), { low, high } a range; warn is the amber band (a
--                       fraction of the target); split gives quarters without a target a
--                       quarter of the year's

goal {
	id = "G1",
	title_ar = "تحسين جودة الخدمات المقدّمة للمغتربين",
	title_en = "Improve the quality of services provided to expatriates",
}

kpi {
	id = "1.1", goal = "G1",
	title_ar = "عدد الخدمات المؤتمتة المقدمة للمغتربين",
	title_en = "Number of automated services provided to expatriates",
	unit = "services", direction = "higher", period = "quarter",
	indicator = "automated_services",
	owner = { name = "مدير الخدمات القنصلية", email = "consular.services@mizan.example", lang = "ar" },
	target = { quarter = 12, year = 15 },
}

kpi {
	id = "1.2", goal = "G1",
	title_ar = "مستوى رضا المغتربين عن الخدمات المقدمة",
	title_en = "Expatriates' satisfaction with the services provided",
	unit = "%", direction = "higher", period = "quarter",
	indicator = "satisfaction_share",
	params = { subject = "service", min_answers = 30 },
	owner = { name = "Quality and Excellence Unit", email = "quality@mizan.example", lang = "en" },
	target = { quarter = 70, year = 70 },
}

goal {
	id = "G2",
	title_ar = "تعزيز القدرات المؤسسية ورفع كفاءتها لخدمة المغتربين",
	title_en = "Strengthen institutional capacity and efficiency in serving expatriates",
}

kpi {
	id = "2.1", goal = "G2",
	title_ar = "عدد الورشات والبرامج التدريبية المنعقدة المتعلقة بتطوير خدمة المغتربين",
	title_en = "Number of workshops and training programmes held on expatriate service",
	unit = "programmes", direction = "higher", period = "quarter",
	cumulative = true,
	indicator = "workshops_held",
	owner = { name = "مدير الموارد البشرية والتدريب", email = "training@mizan.example", lang = "ar" },
	target = { quarter = 400, year = 1600 },
}

kpi {
	id = "2.2", goal = "G2",
	title_ar = "مستوى الأثر العائد على الاستثمار في التدريب على خدمة المغتربين",
	title_en = "Return on the investment in training for expatriate service",
	unit = "%", direction = "higher", period = "quarter",
	indicator = "training_roi",
	owner = { name = "مدير الموارد البشرية والتدريب", email = "training@mizan.example", lang = "ar" },
	target = { quarter = 70, year = 70 },
}

goal {
	id = "G3",
	title_ar = "تعزيز مشاركة المغتربين في دعم التنمية الشاملة والمستدامة في المملكة",
	title_en = "Strengthen expatriates' part in comprehensive, sustainable development",
}

kpi {
	id = "3.1", goal = "G3",
	title_ar = "عدد المشاريع والمساهمات التي شارك بها المغتربون",
	title_en = "Number of projects and contributions expatriates took part in",
	unit = "projects", direction = "higher", period = "quarter",
	cumulative = true,
	indicator = "projects_count",
	owner = { name = "Investment and Development Directorate", email = "development@mizan.example", lang = "en" },
	target = { quarter = 600, year = 2400 },
}

kpi {
	id = "3.2", goal = "G3",
	title_ar = "حجم مشاركة المغتربين في التنمية",
	title_en = "Volume of expatriate participation in development",
	unit = "JOD", direction = "higher", period = "quarter",
	cumulative = true,
	indicator = "participation_volume",
	-- JOD per unit of each currency (the Central Bank of Jordan's peg: 1 USD = 0.709 JOD).
	params = { rate_USD = 0.709, rate_EUR = 0.77 },
	owner = { name = "Investment and Development Directorate", email = "development@mizan.example", lang = "en" },
	target = { quarter = 30000000, year = 120000000 },
}

goal {
	id = "G4",
	title_ar = "تطوير آليات التواصل بين المغتربين والوطن",
	title_en = "Develop the channels between expatriates and the homeland",
}

kpi {
	id = "4.1", goal = "G4",
	title_ar = "تنوع قنوات التواصل بين المغتربين والوطن",
	title_en = "Diversity of communication channels",
	unit = "channels", direction = "higher", period = "quarter",
	indicator = "channel_diversity",
	params = { min_events = 1 },
	owner = { name = "مدير الاتصال والإعلام", email = "communication@mizan.example", lang = "ar" },
	target = { quarter = 8, year = 8 },
}

kpi {
	id = "4.2", goal = "G4",
	title_ar = "مستوى فاعلية قنوات الاتصال بين المغتربين والوطن",
	title_en = "Effectiveness of communication channels",
	unit = "%", direction = "higher", period = "quarter",
	indicator = "channel_effectiveness",
	params = { min_requests = 20 },
	owner = { name = "مدير الاتصال والإعلام", email = "communication@mizan.example", lang = "ar" },
	target = { quarter = 95, year = 95 },
}

kpi {
	id = "4.3", goal = "G4",
	title_ar = "مستوى رضا المغتربين عن آليات التواصل معهم",
	title_en = "Expatriates' satisfaction with the ways of communicating with them",
	unit = "%", direction = "higher", period = "quarter",
	indicator = "satisfaction_share",
	params = { subject = "communication", min_answers = 30 },
	owner = { name = "مدير الاتصال والإعلام", email = "communication@mizan.example", lang = "ar" },
	target = { quarter = 70, year = 70 },
}
