package org.archiefvooronderwijs.avo.analysis;

import java.util.Map;

import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Registers, under the names production Elasticsearch uses in its analysis-common
 * module, the token filters that avo's index mappings need and that the
 * integ-test-zip distribution lacks. Only those filters: a mapping that asks for
 * anything else fails on the local node exactly as it would on a cluster without it.
 */
public final class AvoAnalysisPlugin extends Plugin implements AnalysisPlugin {
    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "asciifolding", AsciiFoldingFilterFactory::new,
            // A bare "stemmer" means English in Elasticsearch, which this plugin does not
            // provide, so the filter is only available configured with a language.
            "stemmer", AnalysisPlugin.requiresAnalysisSettings(StemmerFilterFactory::new),
            "stemmer_override", AnalysisPlugin.requiresAnalysisSettings(StemmerOverrideFilterFactory::new)
        );
    }
}
