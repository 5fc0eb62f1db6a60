"""Word lists for plausible Chinese companies, banks and goods; data only, no logic."""

from __future__ import annotations

from typing import NamedTuple


class City(NamedTuple):
    name: str
    region: str  # GB/T 2260 district code, positions 3-8 of a USCC
    province: str  # two-digit code used in 数电 invoice numbers
    cnaps_city: str  # 4-digit city part of a CNAPS bank code


class Bank(NamedTuple):
    name: str
    code: str  # 3-digit CNAPS bank category code


class Product(NamedTuple):
    code: str
    name: str
    unit: str
    min_price: int  # yuan
    max_price: int  # yuan
    tax_rate: int  # percent


CITIES = (
    City("苏州", "320505", "32", "3050"),
    City("无锡", "320214", "32", "3020"),
    City("南京", "320106", "32", "3010"),
    City("常州", "320411", "32", "3040"),
    City("上海", "310115", "31", "2900"),
    City("杭州", "330106", "33", "3310"),
    City("宁波", "330212", "33", "3320"),
    City("合肥", "340104", "34", "3610"),
    City("深圳", "440305", "44", "5840"),
    City("东莞", "441900", "44", "6020"),
    City("青岛", "370212", "37", "4520"),
    City("成都", "510107", "51", "6510"),
)

BRANDS = (
    "华盛",
    "恒通",
    "鼎信",
    "瑞丰",
    "永达",
    "中联",
    "嘉禾",
    "宏远",
    "金桥",
    "天成",
    "博远",
    "汇川",
    "海纳",
    "信达",
    "盛泰",
    "远航",
    "新锐",
    "晨光",
    "德润",
    "众合",
    "安泰",
    "凯瑞",
    "精诚",
    "万象",
)

INDUSTRIES = (
    "精密机械",
    "电子科技",
    "新材料",
    "化工",
    "供应链管理",
    "汽车零部件",
    "建筑工程",
    "医疗器械",
    "纺织",
    "包装材料",
    "智能装备",
    "环保科技",
    "物流",
    "电气设备",
    "金属制品",
    "光电",
)

BANKS = (
    Bank("中国工商银行", "102"),
    Bank("中国农业银行", "103"),
    Bank("中国银行", "104"),
    Bank("中国建设银行", "105"),
    Bank("交通银行", "301"),
    Bank("中信银行", "302"),
    Bank("招商银行", "308"),
    Bank("兴业银行", "309"),
    Bank("上海浦东发展银行", "310"),
)

BRANCHES = ("高新区", "工业园区", "城东", "科技城", "经济开发区", "新区", "中心")

GOODS = (
    Product("M0001", "数控车床主轴", "件", 2000, 9999, 13),
    Product("M0002", "精密滚珠丝杠", "根", 800, 3000, 13),
    Product("M0003", "伺服电机", "台", 1500, 6000, 13),
    Product("M0004", "液压泵站", "台", 5000, 9999, 13),
    Product("M0005", "不锈钢板304", "吨", 6000, 9999, 13),
    Product("M0006", "铝合金型材", "吨", 5000, 9000, 13),
    Product("M0007", "工业传感器", "个", 200, 900, 13),
    Product("M0008", "PCB电路板", "片", 200, 800, 13),
    Product("M0009", "行星减速机", "台", 3000, 8000, 13),
    Product("M0010", "轴承组件", "套", 300, 1200, 13),
)

SERVICES = (
    Product("S0001", "设备技术服务", "项", 2000, 9999, 6),
    Product("S0002", "软件运维服务", "月", 3000, 9999, 6),
    Product("S0003", "物流运输服务", "次", 500, 3000, 6),
    Product("S0004", "检测认证服务", "次", 1000, 5000, 6),
)

# Cheap accessories: an over-delivered accessory line stays below the amount tolerance.
ACCESSORIES = (
    Product("P0001", "包装箱", "个", 20, 80, 13),
    Product("P0002", "紧固件套装", "套", 20, 80, 13),
    Product("P0003", "密封圈", "个", 20, 80, 13),
)
