/**
 * The value domains of the TPC-H specification (clause 4.2.2.13 and dbgen's dists.dss): the
 * words that names, types, containers and comments are made of, and that the 22 queries
 * filter on.
 */

/** [name, region key] of the 25 nations, by nation key. */
export const NATIONS: readonly (readonly [string, number])[] = [
  ['ALGERIA', 0],
  ['ARGENTINA', 1],
  ['BRAZIL', 1],
  ['CANADA', 1],
  ['EGYPT', 4],
  ['ETHIOPIA', 0],
  ['FRANCE', 3],
  ['GERMANY', 3],
  ['INDIA', 2],
  ['INDONESIA', 2],
  ['IRAN', 4],
  ['IRAQ', 4],
  ['JAPAN', 2],
  ['JORDAN', 4],
  ['KENYA', 0],
  ['MOROCCO', 0],
  ['MOZAMBIQUE', 0],
  ['PERU', 1],
  ['CHINA', 2],
  ['ROMANIA', 3],
  ['SAUDI ARABIA', 4],
  ['VIETNAM', 2],
  ['RUSSIA', 3],
  ['UNITED KINGDOM', 3],
  ['UNITED STATES', 1],
];

export const REGIONS = ['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST'] as const;

/** The 92 colors part names are made of (five distinct ones per part). */
export const COLORS = `almond antique aquamarine azure beige bisque black blanched blue blush brown burlywood
  burnished chartreuse chiffon chocolate coral cornflower cornsilk cream cyan dark deep dim dodger drab
  firebrick floral forest frosted gainsboro ghost goldenrod green grey honeydew hot indian ivory khaki
  lace lavender lawn lemon light lime linen magenta maroon medium metallic midnight mint misty moccasin
  navajo navy olive orange orchid pale papaya peach peru pink plum powder puff purple red rose rosy
  royal saddle salmon sandy seashell sienna sky slate smoke snow spring steel tan thistle tomato
  turquoise violet wheat white yellow`
  .trim()
  .split(/\s+/);

/** p_type is one word of each. */
export const TYPE_SYLLABLES = [
  ['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'],
  ['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'],
  ['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'],
] as const;

/** p_container is one word of each. */
export const CONTAINER_SYLLABLES = [
  ['SM', 'LG', 'MED', 'JUMBO', 'WRAP'],
  ['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'],
] as const;

export const SEGMENTS = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'];
export const PRIORITIES = ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'];
export const SHIP_INSTRUCTIONS = ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'];
export const SHIP_MODES = ['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'];

/** The parts of speech of dbgen's comment grammar (clause 4.2.2.10). */
export const WORDS = {
  nouns: `foxes ideas theodolites pinto_beans instructions dependencies excuses platelets asymptotes
    courts dolphins multipliers sauternes warthogs frets dinos attainments somas Tiresias patterns
    forges braids hockey_players frays warhorses dugouts notornis epitaphs pearls tithes waters orbits
    gifts sheaves depths sentiments decoys realms pains grouches escapades accounts accounts accounts
    packages packages packages requests requests requests deposits deposits deposits`,
  verbs: `sleep wake are cajole haggle nag use boost affix detect integrate maintain nod was lose
    sublate solve thrash promise engage hinder print x-ray breach eat grow impress mold poach serve
    run dazzle snooze doze unwind kindle play hang believe doubt`,
  adjectives: `furious sly careful blithe quick fluffy slow quiet ruthless thin close dogged daring
    brave stealthy permanent enticing idle busy regular final ironic even bold silent pending special
    express unusual`,
  adverbs: `sometimes always never furiously slyly carefully blithely quickly fluffily slowly quietly
    ruthlessly thinly closely doggedly daringly bravely stealthily permanently enticingly idly busily
    regularly finally ironically evenly boldly silently`,
  prepositions: `about above according_to across after against along alongside_of among around at
    atop before behind beneath beside besides between beyond by despite during except for from
    in_place_of inside instead_of into near of on outside over past since through throughout to
    toward under until up upon without with within`,
  terminators: '. ; : ? ! --',
} as const;

/** A part of speech as a list of words ('_' joins the words of one entry). */
export function words(part: keyof typeof WORDS): string[] {
  return WORDS[part]
    .trim()
    .split(/\s+/)
    .map((w) => w.replaceAll('_', ' '));
}
