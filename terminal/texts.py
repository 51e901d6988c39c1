"""Every word the window terminal and the evaluator show, in one place (Chinese: the hall's language).

The F-keys follow the caller keypads' habit of one key per op; each button shows its key."""

from __future__ import annotations

# op -> (F-key, button label). The order is the order of the buttons on the screen.
ACTIONS: dict[str, tuple[str, str]] = {
    "call_next": ("F1", "呼叫下一位"),
    "recall": ("F2", "重呼"),
    "call": ("F3", "指呼"),
    "start": ("F4", "开始办理"),
    "finish": ("F5", "完成"),
    "no_show": ("F6", "过号"),
    "transfer": ("F7", "转移"),
    "hold": ("F8", "挂起"),
    "unhold": ("F9", "回呼"),
    "pause": ("F10", "暂停"),
    "resume": ("F11", "恢复"),
    "logout": ("F12", "退出登录"),
}
KEY_ACTIONS = {key: op for op, (key, _) in ACTIONS.items()}

PAUSE_REASONS = ("临时离开", "业务咨询", "系统故障", "会议", "用餐")

WINDOW_STATUS = {"open": "服务中", "paused": "暂停服务", "closed": "未登录"}
TICKET_STATUS = {"called": "已呼叫，等候到窗", "serving": "正在办理"}

# Time limits (电子监察): how the clerk ends a matter of a service with a promised time, and cases.
FINISH_ON_THE_SPOT = "即办：当场办结"
FINISH_ACCEPTED = "受理：{days}个工作日内办结"
CASE_STATE = {"ok": "正常", "near": "临期", "overdue": "超期"}
CASES_BUTTON = "办结受理件"
CLOSE_CONFIRM = "再按一次确认办结："

# Answers of the hall (contract error codes) as a clerk reads them.
ERRORS = {
    "queue_empty": "当前没有等候的号",
    "window_paused": "窗口已暂停：请先恢复",
    "not_logged_in": "未登录：请先登录",
    "no_current_ticket": "当前没有号",
    "unknown_clerk": "该工作人员不能在本窗口登录",
    "wrong_pin": "密码错误",
    "already_logged_in": "该工作人员已在其他窗口登录，或本窗口已有人登录",
    "unknown_ticket": "今天没有这个号",
    "invalid_transition": "此时不能这样操作",
    "recall_limit": "已达重呼次数上限",
    "unknown_service": "没有这项业务",
    "unknown_window": "没有这个窗口",
    "timeout": "大厅服务器无应答，请稍后再试",
    "not_rateable": "评价时间已过",
    "already_rated": "已评价",
    "unknown_case": "没有这个受理件（已办结？）",
    "case_closed": "该件已办结",
    "forbidden": "无权进行此操作",
}

OFFLINE = "与大厅服务器的连接已中断，正在自动重连…"
HALL_OFFLINE = "大厅服务器未运行，正在等待它恢复…"
BUSY = "处理中…"

# The evaluator: the five levels of the national 好差评 review (score -> words).
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
LOW_SCORES = frozenset({1, 2})
LOW_REASONS = (
    "等候时间太长",
    "工作人员态度不好",
    "办事效率低",
    "业务不熟悉",
    "要求重复提交材料",
    "一次没有办成",
    "环境设施不便",
    "其他",
)
EVALUATOR_IDLE = "欢迎您来办事"
EVALUATOR_ASK = "请您对本次服务进行评价"
EVALUATOR_REASONS = "请选择不满意的原因（可多选）"
EVALUATOR_THANKS = "感谢您的评价！"
EVALUATOR_SUBMIT = "提交评价"
EVALUATOR_FAILED = "评价未送达，请再按一次"
