package org.archiefvooronderwijs.avo.analysis;

import java.io.IOException;
import java.util.List;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.StemmerOverrideFilter;
import org.apache.lucene.analysis.miscellaneous.StemmerOverrideFilter.StemmerOverrideMap;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;

/**
 * The {@code stemmer_override} filter: rules {@code "token1, token2 => stem"} given
 * inline ({@code rules}) or in a file under the config directory ({@code rules_path}).
 * Terms it maps are marked as keywords, so the stemmer after it leaves them alone.
 */
final class StemmerOverrideFilterFactory extends AbstractTokenFilterFactory {
    private final StemmerOverrideMap overrides;

    StemmerOverrideFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) throws IOException {
        super(name, settings);
        List<String> rules = Analysis.getWordList(env, settings, "rules");
        if (rules == null) {
            throw new IllegalArgumentException("stemmer_override filter [" + name + "] requires either `rules` or `rules_path`");
        }
        StemmerOverrideFilter.Builder builder = new StemmerOverrideFilter.Builder(false);
        for (String rule : rules) {
            addRule(name, rule, builder);
        }
        this.overrides = builder.build();
    }

    static void addRule(String name, String rule, StemmerOverrideFilter.Builder builder) {
        int arrow = rule.indexOf("=>");
        if (arrow < 0) {
            throw new IllegalArgumentException("stemmer_override filter [" + name + "]: rule [" + rule + "] has no `=>`");
        }
        String stem = rule.substring(arrow + 2).trim();
        if (stem.isEmpty()) {
            throw new IllegalArgumentException("stemmer_override filter [" + name + "]: rule [" + rule + "] has an empty override");
        }
        for (String token : rule.substring(0, arrow).split(",")) {
            String t = token.trim();
            if (t.isEmpty()) {
                throw new IllegalArgumentException("stemmer_override filter [" + name + "]: rule [" + rule + "] has an empty token");
            }
            builder.add(t, stem);
        }
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new StemmerOverrideFilter(tokenStream, overrides);
    }
}
