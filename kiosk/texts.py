"""Every word the kiosk shows, in each language it offers.

One table, so a translation is checked in one place (a test holds that every key has every
language). What the kiosk says aloud are the phrases of the voice manifests (kiosk/speech.py).
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh": "自助取号", "en": "Take a ticket"},
    "home_prompt": {"zh": "请选择办理部门", "en": "Choose a department"},
    "department_prompt": {"zh": "请选择办理事项", "en": "Choose a service"},
    "search_prompt": {"zh": "输入事项名称或拼音首字母", "en": "Type a service name or initials"},
    "search_none": {"zh": "没有找到相关事项", "en": "No service found"},
    "search": {"zh": "搜索", "en": "Search"},
    "back": {"zh": "返回", "en": "Back"},
    "home": {"zh": "首页", "en": "Home"},
    "prev_page": {"zh": "上一页", "en": "Previous"},
    "next_page": {"zh": "下一页", "en": "Next"},
    "large_on": {"zh": "大字模式", "en": "Large text"},
    "large_off": {"zh": "标准字体", "en": "Normal text"},
    "language": {"zh": "English", "en": "中文"},
    "help": {"zh": "呼叫帮助", "en": "Call for help"},
    "help_called": {
        "zh": "已通知工作人员，请稍候，马上有人来帮您",
        "en": "Staff have been called and will come to you shortly",
    },
    "help_failed": {
        "zh": "暂时无法呼叫，请到咨询台求助",
        "en": "Cannot call staff now: please go to the information desk",
    },
    "booking": {"zh": "预约签到", "en": "Booking check-in"},
    "booking_prompt": {"zh": "请输入预约码", "en": "Enter your booking code"},
    "ok": {"zh": "确定", "en": "OK"},
    "clear": {"zh": "清除", "en": "Clear"},
    "erase": {"zh": "删除", "en": "Delete"},
    "waiting": {"zh": "等候 {n} 人", "en": "{n} waiting"},
    "about_min": {"zh": "约 {m} 分钟", "en": "about {m} min"},
    "no_wait": {"zh": "无需等候", "en": "no wait"},
    "state_open": {"zh": "可取号", "en": "Open"},
    "state_closed": {"zh": "暂停办理", "en": "Closed today"},
    "state_outside_hours": {"zh": "不在办理时间", "en": "Outside opening hours"},
    "state_next_open": {"zh": "{at} 开始办理", "en": "Opens {at}"},
    "state_quota_reached": {"zh": "今日号已取完", "en": "No tickets left today"},
    "state_appointment_only": {"zh": "需预约办理", "en": "Booking needed"},
    "priority_prompt": {"zh": "是否需要优先办理？", "en": "Do you need priority service?"},
    "priority_none": {"zh": "普通取号", "en": "No, regular ticket"},
    "priority_elderly": {"zh": "老年人", "en": "Senior citizen"},
    "priority_disabled": {"zh": "残疾人", "en": "Person with a disability"},
    "priority_military": {"zh": "军人", "en": "Service member"},
    "issuing": {"zh": "正在取号，请稍候…", "en": "Getting your ticket…"},
    "ticket_number": {"zh": "您的号码", "en": "Your number"},
    "ticket_windows": {"zh": "请到 {windows} 办理", "en": "Go to {windows}"},
    "ticket_ahead": {"zh": "前面还有 {n} 人", "en": "{n} ahead of you"},
    "ticket_wait": {"zh": "预计等候 {m} 分钟", "en": "Expected wait {m} min"},
    "ticket_take": {"zh": "请取走号票", "en": "Please take your ticket"},
    "print_failed": {
        "zh": "号票打印失败，请记住您的号码，号票恢复后将自动补打",
        "en": "Printing failed: remember your number; it will be reprinted when the printer is back",
    },
    "printer_down": {
        "zh": "打印机暂时无法使用，请到其他取号机或咨询台取号",
        "en": "The printer is out of order: please use another kiosk or the information desk",
    },
    "offline": {
        "zh": "系统暂时无法取号，请到其他取号机或咨询台，稍后自动恢复",
        "en": "No tickets can be issued right now: please use another kiosk or the information desk",
    },
    "refused": {"zh": "无法取号：{why}", "en": "No ticket: {why}"},
    "expired": {
        "zh": "取号超时，未出号，请重新选择",
        "en": "That took too long and no ticket was issued: please try again",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """The text for `key` in `language` (Chinese if that language lacks it), filled in."""
    entry = TEXTS[key]
    template = entry.get(language) or entry["zh"]
    return template.format(**values) if values else template
