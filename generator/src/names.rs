//! Plainly fake personal fields: party names like `测试张某0423`, phone numbers `1990000xxxx`, and a
//! one-sentence summary per category that starts with `（模拟）` and names the party.

use fengqiao_ingest::model::Category;
use rand::Rng;

/// Common surnames (the fake names are `测试` + surname + `某` + four digits).
pub const SURNAMES: &[&str] = &[
    "李", "王", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋",
    "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪",
    "范", "廖", "石",
];

/// Prefix of every fake name.
pub const NAME_PREFIX: &str = "测试";

/// Prefix of every fake phone number (a reserved-looking 199 0000 block; 4 digits follow).
pub const PHONE_PREFIX: &str = "1990000";

/// Prefix of every summary.
pub const SUMMARY_PREFIX: &str = "（模拟）";

/// A fake party: surname index, number and phone suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Party {
    pub surname: u8,
    pub number: u16,
    pub phone: u16,
}

impl Party {
    /// A random fake party.
    pub fn draw<R: Rng>(rng: &mut R) -> Party {
        Party {
            surname: rng.random_range(0..SURNAMES.len()) as u8,
            number: rng.random_range(0..10_000),
            phone: rng.random_range(0..10_000),
        }
    }

    /// `测试张某0423`.
    pub fn name(self) -> String {
        format!("{NAME_PREFIX}{}某{:04}", SURNAMES[self.surname as usize], self.number)
    }

    /// `19900001234`.
    pub fn phone(self) -> String {
        format!("{PHONE_PREFIX}{:04}", self.phone)
    }
}

/// Summary templates per category; `{}` is the party's name.
fn templates(category: Category) -> [&'static str; 2] {
    match category {
        Category::MarriageFamily => [
            "{}反映与配偶因子女抚养和家庭开支问题发生矛盾，请求调解。",
            "{}反映赡养老人费用分摊问题与兄弟姐妹协商未果，请求协调。",
        ],
        Category::Neighbour => [
            "{}反映邻居房屋排水影响其自家墙体，双方多次争执，请求调解。",
            "{}反映邻居夜间噪音扰民，沟通无果，请求村（社区）协调。",
        ],
        Category::HousingLand => [
            "{}反映与邻户宅基地界址存在争议，影响建房，请求调解。",
            "{}反映房屋买卖后过户手续未办理，双方产生纠纷，请求处理。",
        ],
        Category::Contract => [
            "{}反映承包合同约定款项对方迟迟未付，请求调解。",
            "{}反映与装修公司合同履行发生争议，请求协调处理。",
        ],
        Category::Business => [
            "{}反映合伙经营分红问题与合伙人产生矛盾，请求调解。",
            "{}反映个体经营场所租金上涨问题与出租方协商未果。",
        ],
        Category::Damages => [
            "{}反映自家农作物被他人牲畜损毁，要求赔偿，请求调解。",
            "{}反映因他人施工造成自家财物受损，要求赔偿。",
        ],
        Category::ForestLand => [
            "{}反映与邻组山林界线不清，砍伐林木引发争执，请求调处。",
            "{}反映自家承包山林被他人占用，请求确权调解。",
        ],
        Category::LandAcquisition => [
            "{}反映征地补偿款分配存在异议，请求核实处理。",
            "{}反映房屋拆迁安置方案与其诉求不一致，请求协调。",
        ],
        Category::Environment => [
            "{}反映附近养殖场气味扰民，请求相关部门处理。",
            "{}反映附近工地夜间施工噪音和扬尘问题，请求处理。",
        ],
        Category::Labour => [
            "{}反映在工地务工工资被拖欠，多次讨要未果，请求帮助追讨。",
            "{}反映用人单位未签订劳动合同且拖欠加班费，请求调解。",
        ],
        Category::Tourism => [
            "{}反映在景区购票后因故未能游览，退票遇阻，请求处理。",
            "{}反映旅行社擅自变更行程，请求协调退还费用。",
        ],
        Category::Consumer => [
            "{}反映所购商品存在质量问题，商家拒绝退换，请求维权。",
            "{}反映预付卡商家停业无法退款，请求帮助。",
        ],
        Category::Medical => [
            "{}反映家属就医后对治疗结果有异议，与医院协商未果。",
            "{}反映诊所收费不透明，请求核查处理。",
        ],
        Category::Traffic => [
            "{}反映交通事故后对方未按约定赔偿，请求调解。",
            "{}反映电动车与行人碰撞后赔偿金额协商不一，请求调解。",
        ],
        Category::PropertyMgmt => [
            "{}反映小区物业服务不到位、电梯长期故障，请求协调。",
            "{}反映物业费收费标准有异议，与物业公司发生纠纷。",
        ],
        Category::IntellectualProperty => [
            "{}反映自家注册商标被他人在网店冒用，请求处理。",
            "{}反映其设计的产品图样被他人仿冒，请求调解。",
        ],
        Category::UrbanPlanning => [
            "{}反映小区周边道路规划施工影响出行，请求答复。",
            "{}反映附近违章搭建影响采光通行，请求处理。",
        ],
        Category::Other => [
            "{}反映生活中遇到的其他问题，请求相关部门帮助。",
            "{}来电咨询相关政策办理流程，请求答复。",
        ],
    }
}

/// The summary of a case of `category` by `party_name` (`variant` picks one of the templates).
pub fn summary(category: Category, variant: u8, party_name: &str) -> String {
    let t = templates(category)[usize::from(variant) % 2];
    let mut out = String::with_capacity(SUMMARY_PREFIX.len() + t.len() + party_name.len());
    out.push_str(SUMMARY_PREFIX);
    out.push_str(&t.replacen("{}", party_name, 1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn personal_fields_are_plainly_fake() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..100 {
            let p = Party::draw(&mut rng);
            let name = p.name();
            assert!(name.starts_with(NAME_PREFIX) && name.contains('某'), "{name}");
            assert_eq!(p.phone().len(), 11);
            assert!(p.phone().starts_with(PHONE_PREFIX));
        }
        for &c in Category::ALL {
            for v in 0..2 {
                let s = summary(c, v, "测试王某0001");
                assert!(s.starts_with(SUMMARY_PREFIX) && s.contains("测试王某0001"), "{s}");
                assert!(!s.contains("{}") && !s.contains(',') && !s.contains('"'), "{s}");
            }
        }
    }
}
