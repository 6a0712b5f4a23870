"""The demo's tables: Dandong's districts and isolation points, the names, phones
and routes of the people who came, and the incidents they had (as the seed article
and the city's map tell them). The planner in :mod:`.demo_plan` draws from these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

DISTRICTS: dict[str, tuple[str, str]] = {
    # key: (region code of the resident ID, name)
    "ZX": ("210603", "振兴区"),
    "YB": ("210602", "元宝区"),
    "ZA": ("210604", "振安区"),
    "DG": ("210681", "东港市"),
    "FC": ("210682", "凤城市"),
    "KD": ("210624", "宽甸满族自治县"),
}

BORDER_POINTS: list[tuple[str, str, str]] = [
    ("江畔宾馆", "ZX", "丹东市振兴区滨江中路86号"),
    ("鸭绿江宾馆", "ZX", "丹东市振兴区江城大街27号"),
    ("锦山宾馆", "YB", "丹东市元宝区锦山大街152号"),
    ("九连城宾馆", "ZA", "丹东市振安区九连城镇九连城村"),
    ("太平湾宾馆", "ZA", "丹东市振安区太平湾街道太平湾村"),
    ("河口宾馆", "KD", "宽甸满族自治县长甸镇河口村"),
    ("虎山宾馆", "KD", "宽甸满族自治县虎山镇虎山村"),
    ("下露河宾馆", "KD", "宽甸满族自治县下露河朝鲜族乡下露河村"),
    ("北井子宾馆", "DG", "东港市北井子镇中心街18号"),
    ("大鹿岛宾馆", "DG", "东港市孤山镇大鹿岛村"),
]

COUNTY_POINTS: list[tuple[str, str, str]] = [
    ("春晖宾馆", "ZX", "丹东市振兴区春二路35号"),
    ("六纬路酒店", "ZX", "丹东市振兴区六纬路12号"),
    ("七经街宾馆", "ZX", "丹东市振兴区七经街101号"),
    ("兴五路商务酒店", "ZX", "丹东市振兴区兴五路8号"),
    ("金山宾馆", "YB", "丹东市元宝区金山镇天泽路6号"),
    ("宝山酒店", "YB", "丹东市元宝区宝山大街77号"),
    ("八道宾馆", "YB", "丹东市元宝区八道街道江城大街209号"),
    ("五龙背温泉宾馆", "ZA", "丹东市振安区五龙背镇温泉街3号"),
    ("同兴宾馆", "ZA", "丹东市振安区同兴镇同兴路21号"),
    ("珍珠宾馆", "ZA", "丹东市振安区珍珠街道珍珠路45号"),
    ("大东宾馆", "DG", "东港市大东街道新兴路66号"),
    ("前阳宾馆", "DG", "东港市前阳镇前阳街9号"),
    ("孤山宾馆", "DG", "东港市孤山镇孤山大街30号"),
    ("黄土坎宾馆", "DG", "东港市黄土坎镇黄土坎街14号"),
    ("新城酒店", "DG", "东港市新城街道滨海路120号"),
    ("凤凰山宾馆", "FC", "凤城市凤凰城街道凤山路58号"),
    ("草河宾馆", "FC", "凤城市草河街道草河路17号"),
    ("通远堡宾馆", "FC", "凤城市通远堡镇通远堡街5号"),
    ("宝山宾馆", "FC", "凤城市宝山镇宝山街22号"),
    ("宽甸宾馆", "KD", "宽甸满族自治县宽甸镇中心大街88号"),
    ("永甸宾馆", "KD", "宽甸满族自治县永甸镇永甸街11号"),
    ("振江宾馆", "KD", "宽甸满族自治县振江镇振江街4号"),
]

SHORT = {"ZX": "振兴", "YB": "元宝", "ZA": "振安", "DG": "东港", "FC": "凤城", "KD": "宽甸"}


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁"
    "任卢姚沈钟姜崔谭陆范汪廖石金贾夏付方邹熊白孟秦邱侯江尹薛闫段雷史陶贺毛郝顾邵孔常汤康乔文朴"
)
GIVEN = {
    "male": "伟强磊军洋勇杰涛明超斌鹏辉刚浩宇博晨旭峰鑫宁健俊志国建海东成哲龙胜文",
    "female": "芳娜敏静丽艳娟霞燕玲婷雪琳颖倩欣悦佳慧蕾红梅莹晶萍月瑶雯珊洁英秀",
}
FOREIGN_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # nationality: (surnames, male given names, female given names)
    "KR": (
        ("KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON", "JANG", "LIM"),
        ("MINJUN", "SEOJUN", "JIHOON", "HYUNWOO", "DONGHYUN", "SUNGMIN"),
        ("SEOYEON", "JIWOO", "MINJI", "HAYOON", "SOOYEON", "YUNA"),
    ),
    "JP": (
        ("SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE", "ITO", "YAMAMOTO"),
        ("HIROSHI", "TAKESHI", "KENJI", "SHOTA", "DAISUKE"),
        ("YUKI", "AYAKA", "HARUKA", "MISAKI", "YUI"),
    ),
    "RU": (
        ("IVANOV", "PETROV", "SMIRNOV", "KUZNETSOV", "POPOV", "SOKOLOV", "VOLKOV"),
        ("SERGEI", "ALEXEI", "DMITRY", "ANDREI", "IVAN"),
        ("ANNA", "OLGA", "TATIANA", "ELENA", "NATALIA"),
    ),
    "US": (
        ("SMITH", "JOHNSON", "BROWN", "MILLER", "DAVIS", "WILSON"),
        ("JOHN", "MICHAEL", "DAVID", "JAMES"),
        ("EMILY", "SARAH", "JESSICA", "LAURA"),
    ),
    "DE": (
        ("MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER"),
        ("THOMAS", "STEFAN", "MARKUS"),
        ("SABINE", "JULIA", "ANNA"),
    ),
}
FOREIGN_PHONE = {"KR": "+82 10", "JP": "+81 90", "RU": "+7 914", "US": "+1 646", "DE": "+49 151"}

# Where Chinese people live (resident ID region codes) when not in Dandong.
ELSEWHERE: list[tuple[str, str]] = [
    ("210102", "沈阳市"),
    ("210202", "大连市"),
    ("210302", "鞍山市"),
    ("210502", "本溪市"),
    ("222401", "延吉市"),
    ("220102", "长春市"),
    ("230103", "哈尔滨市"),
    ("110105", "北京市"),
    ("370202", "青岛市"),
    ("130102", "石家庄市"),
    ("410105", "郑州市"),
]
REGION_NAMES = {code: f"丹东市{name}" for code, name in DISTRICTS.values()} | {
    "210624": "宽甸满族自治县",
    "210681": "东港市",
    "210682": "凤城市",
    **dict(ELSEWHERE),
}
DANDONG_REGIONS = [code for code, _ in DISTRICTS.values()]

MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "139",
    "138",
    "150",
    "151",
    "155",
    "158",
    "186",
    "187",
    "189",
)


@dataclass(frozen=True)
class Route:
    transport: str
    country: str  # nationality of the foreigners on board; "" for none
    origins: tuple[str, ...]
    weight: int
    border_only: bool = False


# International arrivals landed in Shenyang or Dalian and came on by closed-loop
# transfer bus; people and drivers from Sinuiju came across the Yalu river bridge
# through the Dandong port, and went to the border points.
ROUTES: list[Route] = [
    Route("KE831", "KR", ("韩国首尔", "韩国仁川", "韩国水原"), 10),
    Route("OZ323", "KR", ("韩国首尔", "韩国釜山", "韩国仁川"), 9),
    Route("CZ682", "KR", ("韩国首尔", "韩国大邱", "韩国安山"), 8),
    Route("NH923", "JP", ("日本东京", "日本横滨", "日本千叶"), 5),
    Route("MU516", "JP", ("日本大阪", "日本名古屋", "日本福冈"), 4),
    Route("SU204", "RU", ("俄罗斯莫斯科", "俄罗斯圣彼得堡"), 4),
    Route("CZ6072", "RU", ("俄罗斯符拉迪沃斯托克", "俄罗斯哈巴罗夫斯克"), 4),
    Route("CA988", "US", ("美国洛杉矶", "美国旧金山"), 2),
    Route("UA857", "US", ("美国纽约", "美国芝加哥"), 2),
    Route("LH720", "DE", ("德国法兰克福", "德国慕尼黑"), 2),
    Route("EK308", "", ("阿联酋迪拜", "沙特利雅得"), 2),
    Route("TG674", "", ("泰国曼谷", "越南胡志明市"), 2),
    Route("丹东口岸", "", ("朝鲜新义州", "朝鲜平壤"), 6, border_only=True),
]

NOTES = (
    "有高血压病史，每日测量血压",
    "糖尿病，自带胰岛素",
    "素食",
    "青霉素过敏",
    "需要韩语翻译协助",
    "需要俄语翻译协助",
    "孕早期，已告知驻点医生",
    "腿部骨折术后，行动不便",
)

EXTENSIONS: list[tuple[int, str]] = [
    (7, "同航班出现阳性病例，按密接管理延长隔离7天"),
    (3, "第14天核酸结果可疑，延长3天复检"),
    (7, "按属地防控要求执行“14+7”，延长集中隔离7天"),
    (3, "同楼层出现发热人员，延长3天观察"),
]


class Story(NamedTuple):
    """An incident with one person that was handled while they stayed."""

    kind: str
    severity: int
    summary: str
    actions: tuple[str, ...]
    reported_to: str
    resolution: str
    hours: tuple[int, int]  # how long it took to handle


STORIES: list[Story] = [
    Story(
        "fever",
        2,
        "{name}（{room}室）晨检体温38.2℃，伴咽痛",
        ("驻点医生问诊并单人单管采样", "单采核酸阴性，抗原阴性", "次日复测体温36.8℃"),
        "区卫健局",
        "复检阴性，体温恢复正常，继续隔离观察",
        (18, 30),
    ),
    Story(
        "mental_health",
        2,
        "{name}（{room}室）情绪低落，拒绝进食，多次称要回家",
        ("巾帼心理疏导服务队电话疏导", "安排家属视频通话", "每日两次回访"),
        "巾帼心理疏导服务队",
        "情绪平稳，恢复正常饮食，继续每日回访",
        (20, 48),
    ),
    Story(
        "abscond",
        3,
        "{name}（{room}室）试图从消防通道离开隔离点，被值守人员劝回",
        ("安保人员劝返房间", "驻点民警批评教育，签订承诺书", "加采核酸，消防通道加装门磁报警"),
        "属地派出所、区疫情防控指挥部",
        "人员已返回房间，核酸阴性，已签订承诺书",
        (3, 8),
    ),
    Story(
        "conflict",
        1,
        "{name}（{room}室）对延长隔离期不满，与医护人员发生争执",
        ("负责人当面解释延长隔离的政策依据", "安排专人每日沟通"),
        "",
        "经解释政策后情绪平复，配合隔离",
        (1, 4),
    ),
    Story(
        "medical",
        2,
        "{name}（{room}室）牙痛难忍，需口腔科就诊",
        ("驻点医生初步处置", "协调定点医院口腔科，负压车闭环接送"),
        "区卫健局",
        "闭环就医后当日返回隔离点，无异常",
        (5, 9),
    ),
]


# How what was still open when an earlier period of a scaled demo ended was closed
# (``--scale``): those periods are history, every stay and incident in them finished.
CLOSED_LATER: dict[str, str] = {
    "fever": "复检阴性，体温恢复正常，按期解除隔离",
    "facility": "已更换摄像头，恢复在线监控",
    "supply": "消毒片已补充到位",
}
RECHECKED_LATER = ("复测体温36.7℃，无不适", "复测体温正常，排除发热")
