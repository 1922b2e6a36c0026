/* i18n.c - see i18n.h. */
#include "render/i18n.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct word {
	const char *key, *en, *ar;
};

static const struct word words[] = {
	/* the pages */
	{"app", "Mizan", "ميزان"},
	{"tagline", "Strategy KPI monitoring", "متابعة مؤشرات الأداء الاستراتيجية"},
	{"demo_banner", "Demo data: these figures are generated, not real.",
	 "بيانات تجريبية: هذه الأرقام مولّدة وليست حقيقية."},
	{"other_lang", "العربية", "English"},
	{"nav_scorecard", "Scorecard", "بطاقة الأداء"},
	{"nav_alerts", "Alerts", "التنبيهات"},
	{"nav_report", "Report", "التقرير"},
	{"nav_edit", "Edit", "الإدخال"},
	{"logout", "Sign out", "تسجيل الخروج"},
	{"login", "Sign in", "تسجيل الدخول"},
	{"login_token", "With a token", "بواسطة رمز الدخول"},
	{"login_user", "With a user name and password", "باسم المستخدم وكلمة المرور"},
	{"token", "Token", "رمز الدخول"},
	{"user", "User name", "اسم المستخدم"},
	{"password", "Password", "كلمة المرور"},
	{"scorecard", "Scorecard", "بطاقة الأداء"},
	{"period", "Period", "الفترة"},
	{"show", "Show", "عرض"},
	{"goal", "Goal", "الهدف"},
	{"kpi", "KPI", "المؤشر"},
	{"value", "Value", "القيمة"},
	{"target", "Target", "المستهدف"},
	{"status", "Status", "الحالة"},
	{"n", "Sample", "حجم العينة"},
	{"share", "Share of the whole", "الحصة من الإجمالي"},
	{"trend", "Trend", "الاتجاه"},
	{"unit", "Unit", "الوحدة"},
	{"values", "Values per period", "القيم حسب الفترة"},
	{"breakdown", "Breakdown", "التوزيع"},
	{"by", "By", "حسب"},
	{"slice", "Slice", "الفئة"},
	{"provenance", "Provenance", "مصدر الحساب"},
	{"computed_by", "Computed by", "حُسب بواسطة"},
	{"csv", "Export CSV", "تصدير CSV"},
	{"forecast", "Forecast", "التوقع"},
	{"no_data", "No data for this period.", "لا توجد بيانات لهذه الفترة."},
	{"no_chart", "Charts are not available.", "الرسوم البيانية غير متاحة."},
	{"alerts", "Alerts", "التنبيهات"},
	{"active_alerts", "Active alerts", "التنبيهات النشطة"},
	{"alert_history", "History", "السجل"},
	{"stale_sources", "Stale sources", "مصادر متوقفة"},
	{"silences", "Silences", "الإسكات"},
	{"none", "None.", "لا يوجد."},
	{"state", "State", "الحالة"},
	{"since", "Since", "منذ"},
	{"at", "When", "الوقت"},
	{"from", "From", "من"},
	{"to", "To", "إلى"},
	{"acked", "Acknowledged", "تم الإقرار"},
	{"ack", "Acknowledge", "إقرار"},
	{"comment", "Comment", "تعليق"},
	{"silence", "Silence", "إسكات"},
	{"silence_add", "Silence a KPI", "إسكات مؤشر"},
	{"until", "Until", "حتى"},
	{"any_kpi", "Any KPI", "أي مؤشر"},
	{"who", "Who", "بواسطة"},
	{"report", "Quarterly report", "التقرير الربعي"},
	{"download", "Download", "تنزيل"},
	{"print", "Print", "طباعة"},
	{"all_goals", "All goals", "جميع الأهداف"},
	{"notes", "Notes", "الملاحظات"},
	{"difficulties", "Difficulties met", "الصعوبات التي واجهت التنفيذ"},
	{"solutions", "Solutions proposed", "الحلول المقترحة"},
	{"no_notes", "No notes recorded.", "لم تُسجّل ملاحظات."},
	{"recorded_by", "Recorded by", "سجّلها"},
	{"edit", "Record figures and notes", "إدخال القيم والملاحظات"},
	{"value_form", "A reported value", "قيمة مُبلّغ عنها"},
	{"notes_form", "The quarter's notes", "ملاحظات الفترة"},
	{"note", "Note", "ملاحظة"},
	{"save", "Save", "حفظ"},
	{"saved", "Saved.", "تم الحفظ."},
	{"no_reported", "No KPI of the strategy is reported by hand.",
	 "لا يوجد في الاستراتيجية مؤشر يُدخل يدويًا."},
	{"error", "Error", "خطأ"},
	{"back", "Back", "رجوع"},
	{"status_green", "On target", "ضمن المستهدف"},
	{"status_amber", "Near target", "قريب من المستهدف"},
	{"status_red", "Off target", "دون المستهدف"},
	{"status_grey", "No data", "لا توجد بيانات"},
	{"verdict_on_track", "On track", "على المسار"},
	{"verdict_at_risk", "At risk", "معرّض للإخفاق"},
	{"state_ok", "OK", "سليم"},
	{"state_at_risk", "At risk", "معرّض للخطر"},
	{"state_missed", "Missed", "لم يتحقق"},
	{"state_stale", "Stale", "متوقف"},
	{"dim_mission", "Mission", "البعثة"},
	{"dim_country", "Country", "الدولة"},
	{"dim_service", "Service", "الخدمة"},
	{"dim_channel", "Channel", "القناة"},
	{"dim_sex", "Sex", "الجنس"},
	{"dim_age_group", "Age group", "الفئة العمرية"},
	{"whole", "All", "الكل"},
	{"e_throttled", "Too many sign-in attempts: wait a moment and try again.",
	 "محاولات دخول كثيرة: انتظر قليلًا ثم حاول مجددًا."},
	{"e_login", "The token or the user name and password are not right.",
	 "رمز الدخول أو اسم المستخدم وكلمة المرور غير صحيحة."},
	{"e_forged", "This form is forged or expired: nothing was changed. Reload the page and try again.",
	 "هذا النموذج مزوّر أو منتهي الصلاحية: لم يتغيّر شيء. أعد تحميل الصفحة وحاول مجددًا."},
	{"e_role", "Your role cannot do this: it needs an editor.",
	 "صلاحياتك لا تسمح بذلك: يلزم دور المحرّر."},
	{"e_notfound", "There is no such page.", "لا توجد صفحة كهذه."},
	{"e_method", "This page does not take that method.", "هذه الصفحة لا تقبل هذا الطلب."},
	{"e_store", "The store could not be read or written. Try again later.",
	 "تعذّرت القراءة من قاعدة البيانات أو الكتابة إليها. حاول لاحقًا."},
	{"e_form", "The form is not valid", "النموذج غير صالح"},
	{"e_period", "The period must be a quarter (2026-Q3) or a year (2026).",
	 "يجب أن تكون الفترة ربعًا (2026-Q3) أو سنة (2026)."},
	{"e_kpi", "There is no such KPI.", "لا يوجد مؤشر كهذا."},
	{"e_goal", "There is no such goal.", "لا يوجد هدف كهذا."},
	{"e_value", "The value must be a number.", "يجب أن تكون القيمة رقمًا."},
	{"e_reported", "This KPI is computed from events; only reported KPIs take values.",
	 "هذا المؤشر يُحسب من الأحداث؛ تُدخل القيم للمؤشرات المُبلّغ عنها فقط."},
	{"e_comment", "A comment of 1 to 2000 bytes is needed.", "يلزم تعليق من 1 إلى 2000 بايت."},
	{"e_until", "The date must be in the future (2026-12-31).", "يجب أن يكون التاريخ في المستقبل (2026-12-31)."},
	{"e_alert", "There is no such alert.", "لا يوجد تنبيه كهذا."},
	{"e_text", "A note is at most 10000 bytes.", "الملاحظة 10000 بايت على الأكثر."},
	{"e_chars", "The text holds a control character, a line separator (U+2028) or a direction override left open; nothing was saved.",
	 "النص يحوي محرف تحكم أو فاصل أسطر (U+2028) أو تجاوزًا لاتجاه الكتابة لم يُغلق؛ لم يُحفظ شيء."},
	{"e_by", "Breakdown by one of the configured dimensions.", "التوزيع حسب أحد الأبعاد المُعدّة."},
	/* the view: numbers, targets, forecasts */
	{"at_least", "at least", "لا يقل عن"},
	{"at_most", "at most", "لا يزيد على"},
	{"between", "between", "بين"},
	{"and", "and", "و"},
	{"method_run_rate", "at the run rate so far", "بمعدل الإنجاز حتى الآن"},
	{"method_trend", "along the recent trend", "باتجاه الفترات الأخيرة"},
	{"method_none", "", ""},
	/* the mail */
	{"notice_at_risk", "at risk", "معرّض لعدم بلوغ الهدف"},
	{"notice_missed", "missed", "لم يبلغ الهدف"},
	{"notice_recovered", "recovered", "عاد إلى الهدف"},
	{"notice_stale", "stale data", "انقطاع البيانات"},
	{"notice_reminder", "reminder: missed", "تذكير: لم يبلغ الهدف"},
	{"stale_subject", "no data", "لم تصل بيانات"},
	{"stale_body", "No events of this kind have arrived from this mission since",
	 "لم تصل أحداث من هذا النوع من البعثة منذ"},
	{"forecast_end", "Forecast for the end of the period", "التوقع لنهاية الفترة"},
	{"furthest_below", "Furthest below target", "أكثر البعثات ابتعاداً عن الهدف"},
	{"open_link", "Open the KPI page", "افتح صفحة المؤشر"},
};

static cJSON *tables[2];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	for (int l = 0; l < 2; l++) {
		cJSON *t = cJSON_CreateObject();
		for (size_t i = 0; t && i < sizeof(words) / sizeof(words[0]); i++)
			if (!cJSON_AddStringToObject(t, words[i].key,
						     l == LANG_AR ? words[i].ar : words[i].en)) {
				cJSON_Delete(t);
				t = NULL;
			}
		tables[l] = t;
	}
}

cJSON *i18n_table(enum lang l)
{
	pthread_once(&once, build);
	return tables[l == LANG_AR];
}

enum lang lang_from_code(const char *code, enum lang def)
{
	if (!code)
		return def;
	return strcmp(code, "ar") == 0 ? LANG_AR : LANG_EN;
}

const char *lang_code(enum lang l)
{
	return l == LANG_AR ? "ar" : "en";
}

const char *lang_dir(enum lang l)
{
	return l == LANG_AR ? "rtl" : "ltr";
}

const char *i18n_text(enum lang l, const char *key)
{
	/* The static table, not the cJSON copy: a word is found even when
	 * memory ran out building the tables. */
	for (size_t i = 0; key && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].key, key) == 0)
			return l == LANG_AR ? words[i].ar : words[i].en;
	return key ? key : "";
}

const char *i18n_text2(enum lang l, const char *prefix, const char *name)
{
	size_t np = strlen(prefix);
	for (size_t i = 0; name && i < sizeof(words) / sizeof(words[0]); i++)
		if (strncmp(words[i].key, prefix, np) == 0 && strcmp(words[i].key + np, name) == 0)
			return l == LANG_AR ? words[i].ar : words[i].en;
	return name ? name : "";
}
