"""The exclusions of the repair and warranty perks, in the seed's order (KZ-4.5, KZ-4.6, KZ-4.7).

Staff record which one applies when they refuse a service case (a later piece of issue 19)."""

from __future__ import annotations

EXTENDED_WARRANTY_EXCLUSIONS = (  # KZ-4.5 «Случаи, на которые гарантия не распространяется»
    "transport_damage",  # при транспортировке … во время возврата, замены или ремонта
    "accident_or_misuse",  # жидкость, падение, напряжение, деформация платы, блок питания или кабель
    "force_majeure",  # война, пожар, наводнение, землетрясение
    "non_original_or_leaking_battery",  # неоригинальный аккумулятор или протечка батареи
    "no_receipt",  # нет чека/накладной/гарантийного талона, если их требуют
    "serial_or_imei_tampered",  # повреждён, удалён, изменён или несовместим с базой Xiaomi
    "counterfeit",  # контрафактный, не произведён Xiaomi
    "use_against_instructions",  # нарушение инструкций, руководств и рекомендаций Xiaomi
    "self_repair_or_unofficial_parts",  # самостоятельный ремонт, разборка, неоригинальное ПО/детали
    "software_or_viruses",  # неправильная установка и настройка ПО или вирусы
    "carrier_fault",  # неисправность оператора связи
    "period_expired",  # истёк гарантийный срок
)

SCREEN_REPAIR_EXCLUSIONS = (  # KZ-4.6 «Исключения»
    "serial_or_imei_tampered",  # повреждён, удалён или изменён
    "counterfeit",
    "intentional_or_gross_negligence",  # умышленное повреждение или грубая неосторожность
    "cosmetic_damage",  # царапины, потертости
    "malware_or_unofficial_software",  # вредоносное ПО, неофициальное ПО, сторонние приложения
    "no_receipt",  # чек или накладная, если требуются
    "use_against_instructions",  # нарушение инструкций Xiaomi или продавца
    "unauthorised_repair_or_parts",  # самостоятельный/неавторизованный ремонт, неоригинальные детали/ПО
)
"""A screen beyond repair that needs the device replaced falls to the standard warranty (KZ-4.6)."""

FREE_LABOUR_EXCLUSIONS = (  # KZ-4.7 «не применяется … на следующие случаи»
    "serial_or_imei_tampered",  # a. повреждён, удалён или изменён
    "counterfeit",  # b. подделка, не произведён Xiaomi
)
