"""What simulated residents and handlers write. No names, phone numbers or house numbers:
the text field stays in the log, but a simulation should not teach bad habits."""
from __future__ import annotations

REPORTS = {
    "sanitation": ["{place}垃圾桶满溢，多日未清运", "{place}楼道杂物堆积，影响通行", "{place}绿化带内有建筑垃圾",
                   "{place}化粪池外溢，气味很大", "{place}门口流浪犬粪便无人清理"],
    "facility_repair": ["{place}路灯不亮", "{place}电梯故障停运", "{place}单元门禁损坏", "{place}健身器材松动有隐患",
                        "{place}下水道堵塞"],
    "neighbour_dispute": ["{place}楼上装修噪音扰民", "{place}邻居占用公共楼道", "{place}停车位纠纷",
                          "{place}广场舞音响音量过大", "{place}宠物扰邻引发争吵"],
    "safety_hazard": ["{place}电动车在楼道内充电", "{place}消防通道被占用", "{place}外墙瓷砖松动有坠落风险",
                      "{place}燃气管道有异味", "{place}私拉电线"],
    "illegal_construction": ["{place}顶楼违规加建", "{place}占用绿地私搭棚屋", "{place}一楼住户违规扩建院墙"],
    "elder_fraud": ["{place}有人聚集老年人推销保健品，夸大功效", "{place}有人以免费体检为名诱导老人购买理疗仪",
                    "{place}发现冒充社保人员上门收费"],
    "elderly_care": ["{place}独居老人需要上门探访", "{place}高龄老人需要助餐服务", "{place}失能老人需要上门理发",
                     "{place}老人需要陪同就医"],
    "document_delivery": ["{place}居民申请代办社保卡并送达", "{place}居民需要代办居住证明", "{place}老人需要送达养老金资格认证材料"],
    "utility_repair": ["{place}宽带故障，已断网两天", "{place}燃气灶无法点火，需要燃气公司上门", "{place}自来水水压过低",
                       "{place}申请铺设燃气管道"],
    "micro_wish": ["{place}留守儿童希望得到一套课外书", "{place}困难老人希望更换一台电风扇", "{place}居民希望社区组织一次义诊",
                   "{place}孩子希望有人辅导功课"],
}
DEFAULT_REPORT = ["{place}居民反映问题，需要处理"]

SUSPEND = ["等待燃气公司现场勘查", "等待共建单位排期", "等待业主委员会表决", "等待物业提供维修资金", "等待相关部门联合执法"]
FAIL = ["现场复核仍未整改到位", "居民反映问题依旧存在", "整改照片与现场不符", "处置结果未达到要求"]
REOPEN = ["回访居民不满意：问题反弹", "回访居民表示问题未解决", "居民再次反映同一问题"]
WHISTLE_NOTE = {"needs_help": "需要上级协调力量支援", "beyond_authority": "超出本级职权，需上级部门处置"}
